//! Which kinds of object the operator's credentials may list. A leaf of the model: the
//! services assembly and the findings both read it, and it reads nothing of theirs.

/// Which kinds the user may list. A kind that is not visible produces no finding (an
/// unreadable PDB list is not "no PDB"); `report` shows its column as "no access".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visibility {
    pub replicasets: bool,
    pub pods: bool,
    pub pdbs: bool,
    pub hpas: bool,
    pub pvcs: bool,
    pub events: bool,
    pub nodes: bool,
    /// The pods of every namespace (what the nodes already run).
    pub node_pods: bool,
    pub helm_releases: bool,
}

impl Visibility {
    pub const ALL: Visibility = Visibility {
        replicasets: true,
        pods: true,
        pdbs: true,
        hpas: true,
        pvcs: true,
        events: true,
        nodes: true,
        node_pods: true,
        helm_releases: true,
    };
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility::ALL
    }
}
