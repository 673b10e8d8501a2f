#ifndef POWER_CUT_VFS_H
#define POWER_CUT_VFS_H

/*
 * A test-only SQLite VFS for scripts/power-cut-test: it wraps the "unix" VFS
 * and records every write, truncate, sync and delete of the files under one
 * directory, with their bytes, to a log file, so that a power cut at any
 * point can be rebuilt offline: each file's synced state, plus whatever of
 * the writes since its last sync the cut keeps. It never ships in the
 * library: only the power-cut harness links it.
 */

/* Registers the VFS as SQLite's default, recording files whose path starts
 * with `directory` into the log at `log_path`. Returns 0 on success. */
int power_cut_vfs_install(const char *directory, const char *log_path);

/* Puts "unix" back as the default VFS and closes the log. Connections opened
 * while installed must be closed first. Returns 0 on success. */
int power_cut_vfs_uninstall(void);

/* Writes a marker into the log, ordered with the file operations around it:
 * e.g. "the append of batch 17 returned". */
void power_cut_vfs_mark(const char *text);

#endif
