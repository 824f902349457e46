//! The command line that runs lagsim again on the same inputs, exactly: the one builder of every
//! `reproduce:` line (`run`, `report`, `sweep`, `test` and its shrunk scenarios, generated
//! scenarios in `lagsim::testing`).

/// The parts of a reproduce line:
/// `lagsim COMMAND [-o OUTPUT] FILE --seed SEED [--seeds N] [--variant V]... [--set S]...`,
/// every argument quoted for a POSIX shell where it needs it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reproduce<'a> {
    /// `run`, `report`, `sweep`.
    pub command: &'a str,
    /// `lagsim report`'s page (`-o`).
    pub output: Option<&'a str>,
    /// The scenario file, as named on the command line.
    pub file: &'a str,
    /// The seed (`lagsim sweep`: the first seed).
    pub seed: u64,
    /// `lagsim sweep`'s seeds per grid point.
    pub seeds: Option<u32>,
    /// The variants chosen, in order (none: every variant).
    pub variants: &'a [String],
    /// The `--set` overrides, in order.
    pub sets: &'a [String],
}

impl Reproduce<'_> {
    /// The command line.
    pub fn line(&self) -> String {
        let mut cmd = format!("lagsim {}", self.command);
        if let Some(output) = self.output {
            cmd += &format!(" -o {}", shell_quote(output));
        }
        cmd += &format!(" {} --seed {}", shell_quote(self.file), self.seed);
        if let Some(seeds) = self.seeds {
            cmd += &format!(" --seeds {seeds}");
        }
        for v in self.variants {
            cmd += &format!(" --variant {}", shell_quote(v));
        }
        for s in self.sets {
            cmd += &format!(" --set {}", shell_quote(s));
        }
        cmd
    }
}

/// Quotes an argument for a POSIX shell when it needs it.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_only_where_a_shell_needs_it() {
        assert_eq!(
            shell_quote("scenarios/black-friday.toml"),
            "scenarios/black-friday.toml"
        );
        assert_eq!(shell_quote("a=1..2:3"), "a=1..2:3");
        assert_eq!(shell_quote("my page.html"), "'my page.html'");
        assert_eq!(
            shell_quote("replicas[0].workers=4"),
            "'replicas[0].workers=4'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn every_part_in_its_place() {
        let sets = ["duration_s=5".to_string(), "x=[1, 2]".to_string()];
        let variants = ["replica-read".to_string()];
        let line = Reproduce {
            command: "report",
            output: Some("bf.html"),
            file: "bf.toml",
            seed: 7,
            seeds: Some(3),
            variants: &variants,
            sets: &sets,
        }
        .line();
        assert_eq!(
            line,
            "lagsim report -o bf.html bf.toml --seed 7 --seeds 3 --variant replica-read \
             --set duration_s=5 --set 'x=[1, 2]'"
        );
        let plain = Reproduce {
            command: "run",
            file: "f.toml",
            seed: 1,
            ..Reproduce::default()
        };
        assert_eq!(plain.line(), "lagsim run f.toml --seed 1");
    }
}
