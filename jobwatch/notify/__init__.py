"""Notifications that reach the person: through the terminal when it is in the background, and
an optional command from the config when a watched job ends. No Textual here: the dashboard feeds
in the tick's ended jobs and its focus, and writes what comes out through its own driver.

- `settings`: the config's [notify] table, validated (`NotifySettings.from_table`);
- `terminal`: the bytes of OSC 9, OSC 777, OSC 99 and the bell, wrapped for tmux or screen;
- `detect`: which of them the terminal shows (config, environment, a question to tmux);
- `policy`: which endings notify, when (focus, rate limit), batched into one notification;
- `command`: the `on_job_end` command, run with the job in its environment and no credential;
- `writer`: a notification to a terminal's bytes, through any write function (the dashboard's
  driver, a file descriptor).

The words for typical durations and the `wait --heartbeat` line are in jobwatch.progress.
"""
