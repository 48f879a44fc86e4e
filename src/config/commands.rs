//! The command catalog: every name a keymap can bind, what it does in one line, and the
//! modes (views) where it means something. The UI matches on [`Command`]; keymaps, the help
//! overlay, the hint bar and the command palette all read this one table.

use std::fmt;

/// The view (or text-entry state) a key is pressed in. Keys are looked up in the current
/// mode first, then in `global` — except in the text-entry modes (`palette`, `input`), where
/// an unbound key is text, so `q` types a q instead of quitting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Global,
    Overview,
    Detail,
    Logs,
    Budget,
    Findings,
    Runbook,
    Audit,
    Nodes,
    Palette,
    Input,
}

impl Mode {
    pub const ALL: [Mode; 11] = [
        Mode::Global,
        Mode::Overview,
        Mode::Detail,
        Mode::Logs,
        Mode::Budget,
        Mode::Findings,
        Mode::Runbook,
        Mode::Audit,
        Mode::Nodes,
        Mode::Palette,
        Mode::Input,
    ];

    /// The name used as a table in keymap files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Global => "global",
            Mode::Overview => "overview",
            Mode::Detail => "detail",
            Mode::Logs => "logs",
            Mode::Budget => "budget",
            Mode::Findings => "findings",
            Mode::Runbook => "runbook",
            Mode::Audit => "audit",
            Mode::Nodes => "nodes",
            Mode::Palette => "palette",
            Mode::Input => "input",
        }
    }

    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether keys not bound in this mode fall through to `global`. Text-entry modes do
    /// not: there an unbound key is typed.
    pub fn falls_back_to_global(self) -> bool {
        !matches!(self, Mode::Global | Mode::Palette | Mode::Input)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One entry of the catalog.
#[derive(Debug, PartialEq, Eq)]
pub struct CommandInfo {
    pub command: Command,
    /// The name keymap files and the command palette use.
    pub name: &'static str,
    /// One line, shown in the help overlay, the hint bar and the palette.
    pub description: &'static str,
    /// Where the command means something. `Global` stands for every mode that falls back
    /// to global (all views); text-entry modes are listed explicitly.
    pub modes: &'static [Mode],
}

impl CommandInfo {
    /// Whether binding this command in `mode` makes sense.
    pub fn meaningful_in(&self, mode: Mode) -> bool {
        self.modes.contains(&mode)
            || (self.modes.contains(&Mode::Global) && (mode == Mode::Global || mode.falls_back_to_global()))
    }
}

macro_rules! catalog {
    ($($variant:ident => $name:literal, $description:literal, [$($mode:ident),+];)+) => {
        /// A command the UI executes. Exhaustive matching in the UI keeps the catalog and the
        /// implementation in step.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Command { $($variant),+ }

        /// Every command, in the order the help overlay lists them.
        pub const COMMANDS: &[CommandInfo] = &[
            $(CommandInfo {
                command: Command::$variant,
                name: $name,
                description: $description,
                modes: &[$(Mode::$mode),+],
            }),+
        ];
    };
}

catalog! {
    Quit => "quit", "Quit the cockpit", [Global];
    Help => "help", "Show the keys of this view", [Global];
    CommandPalette => "command_palette", "Run any command by name", [Global];
    Back => "back", "Go back to the previous view", [Global];
    OpenOverview => "open_overview", "Go to the service overview", [Global];
    MoveUp => "move_up", "Move the selection up", [Global, Palette];
    MoveDown => "move_down", "Move the selection down", [Global, Palette];
    PageUp => "page_up", "Move one page up", [Global, Palette];
    PageDown => "page_down", "Move one page down", [Global, Palette];
    GoTop => "go_top", "Go to the first row", [Global, Palette];
    GoBottom => "go_bottom", "Go to the last row", [Global, Palette];
    MoveLeft => "move_left", "Scroll or move left", [Global];
    MoveRight => "move_right", "Scroll or move right", [Global];
    OpenDetail => "open_detail", "Open the selected item", [Overview, Budget, Findings, Runbook, Audit];
    Filter => "filter", "Filter the rows (in log panes: by regex)", [Overview, Budget, Findings, Runbook, Audit, Logs];
    ClearFilter => "clear_filter", "Clear the filter", [Overview, Budget, Findings, Runbook, Audit];
    SortNextColumn => "sort_next_column", "Sort by the next column", [Overview, Budget, Findings, Audit];
    SortReverse => "sort_reverse", "Reverse the sort order", [Overview, Budget, Findings, Audit];
    ToggleProblemsFirst => "toggle_problems_first", "Show services with problems first", [Overview];
    NextProblem => "next_problem", "Go to the next service with problems", [Overview];
    PrevProblem => "prev_problem", "Go to the previous service with problems", [Overview];
    ToggleNamespaceGroups => "group_by_namespace", "Namespaces as group headers or as a column (all namespaces)", [Overview];
    JumpToNamespace => "jump_to_namespace", "Go to the first service of a namespace", [Overview];
    SwitchNamespace => "switch_namespace", "Switch namespace", [Global];
    SwitchContext => "switch_context", "Switch kubeconfig context", [Global];
    ReloadProfile => "reload_profile", "Read the profile again (after fixing it)", [Global];
    OpenLogs => "open_logs", "Open the live log panes of the service", [Overview, Detail, Runbook];
    OpenBudget => "open_budget", "Open the connection budgets", [Global];
    OpenFindings => "open_findings", "Open the preflight findings", [Global];
    OpenAudit => "open_audit", "Open the audit trail", [Global];
    OpenRunbooks => "open_runbooks", "Open the runbooks", [Global];
    OpenNodes => "open_nodes", "Open the nodes and what draining each would do", [Global];
    DrainNode => "drain_node", "Drain the selected node (dry-run, confirmation, progress)", [Nodes];
    UncordonNode => "uncordon_node", "Let the selected node take pods again", [Nodes];
    MarkNode => "mark_node", "Mark the node for a rolling drain (previewed in order)", [Nodes];
    Scale => "scale", "Scale the service (with impact preview)", [Overview, Detail];
    RolloutRestart => "rollout_restart", "Restart every pod with a rolling update", [Overview, Detail];
    RolloutPause => "rollout_pause", "Pause the rollout", [Overview, Detail];
    RolloutResume => "rollout_resume", "Resume a paused rollout", [Overview, Detail];
    RolloutUndo => "rollout_undo", "Roll back to a chosen revision (with its diff)", [Overview, Detail];
    HelmRollback => "helm_rollback", "Roll the Helm release back to a chosen revision", [Overview, Detail];
    SetImage => "set_image", "Change a container image (staged rollout)", [Overview, Detail];
    HpaBounds => "hpa_bounds", "Change the HPA minimum and maximum", [Overview, Detail];
    ResumeGitOps => "resume_gitops", "Resume the suspended GitOps owner (Flux, Argo CD)", [Overview, Detail];
    ChangeInGit => "change_in_git", "Change it in git instead (the checkout, or a patch)", [Input];
    SuspendThenChange => "suspend_then_change", "Suspend the GitOps owner, then make the change", [Input];
    CopyCommand => "copy_command", "Copy the equivalent kubectl command (OSC 52: works over SSH)", [Overview, Detail, Budget, Runbook, Audit, Palette, Input];
    RunRunbook => "run_runbook", "Run the selected runbook (dry-run first)", [Runbook];
    ToggleFollow => "toggle_follow", "Follow new log lines or stop scrolling", [Logs];
    ToggleWrap => "toggle_wrap", "Wrap long lines", [Logs, Detail];
    ToggleTimestamps => "toggle_timestamps", "Show or hide timestamps", [Logs];
    Search => "search", "Search", [Logs, Detail];
    SearchNext => "search_next", "Next search match", [Logs, Detail];
    SearchPrev => "search_prev", "Previous search match", [Logs, Detail];
    ClosePane => "close_pane", "Close the focused pane", [Logs];
    NextPane => "next_pane", "Focus the next pane", [Logs, Detail];
    PrevPane => "prev_pane", "Focus the previous pane", [Logs, Detail];
    ToggleLayout => "toggle_layout", "Switch between stacked and side-by-side panes", [Logs];
    Confirm => "confirm", "Confirm", [Global, Palette, Input];
    Cancel => "cancel", "Cancel", [Global, Palette, Input];
    Pause => "pause", "Pause the running runbook", [Runbook];
    Abort => "abort", "Abort the running runbook", [Runbook];
    Skip => "skip", "Skip the current runbook step", [Runbook];
    NoOp => "no_op", "Do nothing (unbinds a key)", [Global, Palette, Input];
}

impl Command {
    pub fn info(self) -> &'static CommandInfo {
        &COMMANDS[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn description(self) -> &'static str {
        self.info().description
    }

    pub fn from_name(name: &str) -> Option<Command> {
        COMMANDS.iter().find(|c| c.name == name).map(|c| c.command)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The known name closest to `wanted`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wanted.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(wanted, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push((previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_order_matches_the_enum() {
        for (i, info) in COMMANDS.iter().enumerate() {
            assert_eq!(info.command as usize, i, "{} is out of place", info.name);
            assert_eq!(Command::from_name(info.name), Some(info.command));
        }
    }

    #[test]
    fn names_are_unique_snake_case_and_described() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COMMANDS.len());
        for c in COMMANDS {
            assert!(c.name.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{}", c.name);
            assert!(!c.description.is_empty() && !c.description.ends_with('.'), "{}", c.name);
        }
    }

    #[test]
    fn global_commands_mean_something_in_every_view_but_not_while_typing() {
        let quit = Command::Quit.info();
        assert!(quit.meaningful_in(Mode::Logs));
        assert!(quit.meaningful_in(Mode::Global));
        assert!(!quit.meaningful_in(Mode::Input));
        assert!(Command::Cancel.info().meaningful_in(Mode::Input));
        assert!(!Command::ToggleFollow.info().meaningful_in(Mode::Overview));
        assert!(!Command::ToggleFollow.info().meaningful_in(Mode::Global));
    }

    #[test]
    fn modes_round_trip_by_name() {
        for m in Mode::ALL {
            assert_eq!(Mode::from_name(m.name()), Some(m));
            assert_eq!(m.index(), Mode::ALL.iter().position(|x| *x == m).unwrap());
        }
        assert_eq!(Mode::from_name("overveiw"), None);
    }

    #[test]
    fn typos_get_a_suggestion() {
        assert_eq!(closest("go_tpo", COMMANDS.iter().map(|c| c.name)), Some("go_top"));
        assert_eq!(closest("frobnicate", COMMANDS.iter().map(|c| c.name)), None);
    }
}
