//! The scenario's timeline: at T (scenario time since the world started), switch log
//! generators, change how an image behaves, set an image or a scale as kubectl would,
//! script HPA load, or inject a fault into the API server.

use serde_json::{Value, json};

use super::behaviour::Action;
use super::controllers::{hpa, rt};
use super::objects::str_at;
use super::runtime::{Task, World};

pub fn schedule(world: &mut World) {
    for (i, step) in world.config.timeline.clone().iter().enumerate() {
        world.enqueue_after(step.at, Task::Timeline(i));
    }
}

pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

pub fn fire(world: &mut World, index: usize) {
    let Some(step) = world.config.timeline.get(index).cloned() else { return };
    match step.action {
        Action::Logs { image, namespace, generator, enabled } => {
            world.log_switches.push((image, namespace, generator, enabled));
        }
        Action::SetBehaviour(rule) => {
            let (image, namespace) = (rule.image.clone(), rule.namespace.clone());
            world.config.rules.insert(0, rule);
            world.wake_pods_matching(&image, &namespace);
        }
        Action::SetImage { namespace, kind, name, container, image } => {
            world.ctx.store.modify_with(rt(kind.plural()), &namespace, &name, |w| {
                if let Some(containers) = w.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut)
                {
                    let index = container
                        .as_ref()
                        .and_then(|c| containers.iter().position(|x| str_at(x, "/name") == c))
                        .unwrap_or(0);
                    if let Some(c) = containers.get_mut(index) {
                        let cname = str_at(c, "/name").to_string();
                        c["image"] = json!(image);
                        let meta = crate::sim::store::ensure_object(w, "metadata");
                        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
                        annotations[CHANGE_CAUSE] = json!(format!(
                            "kubectl set image {}/{name} {cname}={image}",
                            kind.plural().trim_end_matches('s')
                        ));
                    }
                }
            });
        }
        Action::HpaLoad(load) => hpa::set_load(world, &load.namespace, &load.name, load.utilization),
        Action::Scale { namespace, kind, name, replicas } => {
            world
                .ctx
                .store
                .modify_with(rt(kind.plural()), &namespace, &name, |w| w["spec"]["replicas"] = json!(replicas));
        }
        Action::Fault(fault) => world.ctx.faults.inject(fault),
    }
}
