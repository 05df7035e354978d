//! `elevated man`: the manual page elevated(8), on stdout, for packagers.
//!
//! clap renders the synopsis and the options from the definitions `--help`
//! uses, so they cannot drift. Every command is described in this one page
//! (the package ships no per-command pages), and the sections an
//! administrator looks for (exit status, environment, files, signals,
//! examples, see also) are written by hand in `manpage.roff`. The client's
//! page is built the same way (`cli/src/manpage.rs`).
#![forbid(unsafe_code)]

use std::io;

use clap::Command;

/// The hand-written sections, in roff.
const SECTIONS: &str = include_str!("manpage.roff");

/// The whole page of `cmd` (the `elevated` command line), in roff.
pub fn render(cmd: Command) -> io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .manual("elevated");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    page.extend_from_slice(b".SH COMMANDS\n");
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        command_entry(&mut page, cmd.get_name(), sub)?;
    }
    page.extend_from_slice(SECTIONS.as_bytes());
    man.render_version_section(&mut page)?;
    Ok(page)
}

/// One command's synopsis, description and options, as a sub-section.
/// clap renders them as sections of a page of their own; here each of
/// those sections becomes a paragraph of the entry.
fn command_entry(page: &mut Vec<u8>, parent: &str, sub: &Command) -> io::Result<()> {
    let full = format!("{parent} {}", sub.get_name());
    let man = clap_mangen::Man::new(sub.clone().bin_name(&full).disable_help_flag(true));
    let mut part = Vec::new();
    man.render_synopsis_section(&mut part)?;
    man.render_description_section(&mut part)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut part)?;
    }
    page.extend_from_slice(format!(".SS \"{full}\"\n").as_bytes());
    for line in String::from_utf8_lossy(&part).lines() {
        let line = if line.starts_with(".SH ") {
            ".PP"
        } else {
            line
        };
        page.extend_from_slice(line.as_bytes());
        page.push(b'\n');
    }
    Ok(())
}
