//! Drives the real binary in a pseudo-terminal and reads its screen through a VT100
//! parser, the way an operator's terminal would show it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
}

pub const DEADLINE: Duration = Duration::from_secs(30);

impl Pty {
    /// Starts `kubectl-cockpit ARGS` in a `cols`x`rows` terminal with `envs` set.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)], cols: u16, rows: u16) -> Pty {
        let system = native_pty_system();
        let pair = system.openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("open a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_kubectl-cockpit"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("COLORTERM");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn kubectl-cockpit");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        let writer = pair.master.take_writer().expect("pty writer");
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            rows.try_into().expect("rows > 0"),
            cols.try_into().expect("cols > 0"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        p.lock().unwrap().process(&buf[..n]);
                        r.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        Pty { master: pair.master, writer, child, parser, raw }
    }

    pub fn screen_text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// The foreground colour of the first cell of the first place `needle` is on screen.
    pub fn fg_of(&self, needle: &str) -> Option<vt100::Color> {
        self.colours_of(needle).map(|(fg, _)| fg)
    }

    /// Foreground and background of the first cell of the first place `needle` is on screen.
    pub fn colours_of(&self, needle: &str) -> Option<(vt100::Color, vt100::Color)> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        let (rows, cols): (u16, u16) = (rows.into(), cols.into());
        (0..rows).find_map(|row| {
            let text = screen.contents_between(row, 0, row, cols);
            let col = text.find(needle).map(|byte| text[..byte].chars().count())?;
            screen.cell(row, col as u16).map(|c| (c.fgcolor(), c.bgcolor()))
        })
    }

    /// Waits until the screen shows `needle`; panics with the screen if it never does.
    pub fn wait_for(&self, needle: &str) {
        self.wait_until(&format!("screen shows {needle:?}"), |s| s.contains(needle));
    }

    pub fn wait_until(&self, what: &str, cond: impl FnMut(&str) -> bool) {
        self.wait_within(DEADLINE, what, cond);
    }

    /// [`Pty::wait_until`] for what the demo only does after a while (its SLO burst).
    pub fn wait_within(&self, deadline: Duration, what: &str, mut cond: impl FnMut(&str) -> bool) {
        let start = Instant::now();
        loop {
            let text = self.screen_text();
            if cond(&text) {
                return;
            }
            if start.elapsed() > deadline {
                panic!("timed out waiting until {what}; screen:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Resizes the terminal, as a window resize would (the program gets SIGWINCH).
    pub fn resize(&self, cols: u16, rows: u16) {
        self.parser.lock().unwrap().set_size(rows.try_into().expect("rows > 0"), cols.try_into().expect("cols > 0"));
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).expect("resize the pty");
    }

    pub fn send(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread drain what the process wrote last.
                std::thread::sleep(Duration::from_millis(100));
                return status.exit_code();
            }
            if start.elapsed() > within {
                let _ = self.child.kill();
                panic!("process did not exit within {within:?}; screen:\n{}", self.screen_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("child pid")
    }

    pub fn signal(&self, signal: i32) {
        unsafe {
            libc::kill(self.pid() as i32, signal);
        }
    }

    /// Everything the program wrote, escape sequences included.
    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// True when the screen is back to the normal screen with a visible cursor, and the
    /// tty's line discipline is back in cooked mode (canonical input, echo).
    pub fn terminal_restored(&self) -> Result<(), String> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        if screen.alternate_screen() {
            return Err("still on the alternate screen".into());
        }
        if screen.hide_cursor() {
            return Err("cursor still hidden".into());
        }
        let fd = self.master.as_raw_fd().ok_or("no pty fd")?;
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(fd, &mut termios) } != 0 {
            return Err("tcgetattr failed".into());
        }
        if termios.c_lflag & libc::ICANON == 0 || termios.c_lflag & libc::ECHO == 0 {
            return Err("tty still in raw mode (ICANON/ECHO off)".into());
        }
        Ok(())
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A throwaway config and data dir so tests never read the developer's own files.
pub fn isolated_env(dir: &Path) -> Vec<(String, String)> {
    vec![
        ("KUBECTL_COCKPIT_CONFIG".into(), dir.join("config").display().to_string()),
        ("KUBECTL_COCKPIT_DATA".into(), dir.join("data").display().to_string()),
        ("HOME".into(), dir.display().to_string()),
        ("KUBECONFIG".into(), String::new()),
    ]
}
