// The recording VFS behind scripts/power-cut-test: see include/PowerCutVFS.h.
//
// The log is a sequence of records, each: one byte of kind, a 32-bit file
// number, a 64-bit offset or size, a 32-bit length, then `length` bytes
// (the data written, a file name, or a marker's text). Integers are
// little-endian. One mutex is held across each write or sync and its
// record, so the log is the order in which the operations reached the
// file system, whichever of SQLite's threads made them.
#include "PowerCutVFS.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_OPEN = 1, KIND_WRITE = 2, KIND_TRUNCATE = 3, KIND_SYNC = 4, KIND_DELETE = 5, KIND_MARK = 6, KIND_DELETE_SYNCED = 7 };

typedef struct RecordingFile {
    sqlite3_file base;
    int number;  // 0: not recorded (outside the directory, or a temp file)
    sqlite3_file *real;
} RecordingFile;

static sqlite3_vfs *unix_vfs;
static sqlite3_vfs recording_vfs;
static FILE *log_file;
static char *watched_directory;
static int next_file_number = 1;
static int log_failed;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void put_record(int kind, int number, int64_t offset, const void *bytes, int length) {
    unsigned char header[17];
    header[0] = (unsigned char)kind;
    for (int i = 0; i < 4; i++) header[1 + i] = (unsigned char)((uint32_t)number >> (8 * i));
    for (int i = 0; i < 8; i++) header[5 + i] = (unsigned char)((uint64_t)offset >> (8 * i));
    for (int i = 0; i < 4; i++) header[13 + i] = (unsigned char)((uint32_t)length >> (8 * i));
    if (fwrite(header, 1, sizeof header, log_file) != sizeof header) log_failed = 1;
    if (length > 0 && fwrite(bytes, 1, (size_t)length, log_file) != (size_t)length) log_failed = 1;
}

// Only under log_lock.
static void record(int kind, int number, int64_t offset, const void *bytes, int length) {
    if (number == 0 || log_file == NULL) return;
    put_record(kind, number, offset, bytes, length);
}

// A file inside the watched directory (its resolved path, then a slash).
static int watched(const char *path) {
    if (path == NULL || watched_directory == NULL) return 0;
    size_t length = strlen(watched_directory);
    return strncmp(path, watched_directory, length) == 0 && path[length] == '/';
}

// MARK: The file methods: each forwards to the unix file, recording first.

static int file_close(sqlite3_file *file) {
    RecordingFile *f = (RecordingFile *)file;
    int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
    sqlite3_free(f->real);
    return rc;
}

static int file_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xRead(f->real, buffer, amount, offset);
}

static int file_write(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    RecordingFile *f = (RecordingFile *)file;
    // Recorded before it happens: a cut placed at this record tears it.
    pthread_mutex_lock(&log_lock);
    record(KIND_WRITE, f->number, offset, buffer, amount);
    int rc = f->real->pMethods->xWrite(f->real, buffer, amount, offset);
    pthread_mutex_unlock(&log_lock);
    return rc;
}

static int file_truncate(sqlite3_file *file, sqlite3_int64 size) {
    RecordingFile *f = (RecordingFile *)file;
    pthread_mutex_lock(&log_lock);
    record(KIND_TRUNCATE, f->number, size, NULL, 0);
    int rc = f->real->pMethods->xTruncate(f->real, size);
    pthread_mutex_unlock(&log_lock);
    return rc;
}

static int file_sync(sqlite3_file *file, int flags) {
    RecordingFile *f = (RecordingFile *)file;
    // Recorded once it returned: only then is everything before it durable.
    // No write of another thread falls between the sync and its record.
    pthread_mutex_lock(&log_lock);
    int rc = f->real->pMethods->xSync(f->real, flags);
    if (rc == SQLITE_OK) record(KIND_SYNC, f->number, 0, NULL, 0);
    pthread_mutex_unlock(&log_lock);
    return rc;
}

static int file_size(sqlite3_file *file, sqlite3_int64 *size) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xFileSize(f->real, size);
}

static int file_lock(sqlite3_file *file, int level) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xLock(f->real, level);
}

static int file_unlock(sqlite3_file *file, int level) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xUnlock(f->real, level);
}

static int file_check_reserved_lock(sqlite3_file *file, int *out) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int file_control(sqlite3_file *file, int op, void *argument) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xFileControl(f->real, op, argument);
}

static int file_sector_size(sqlite3_file *file) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int file_device_characteristics(sqlite3_file *file) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

// The -shm file is memory shared between connections, rebuilt from the WAL
// after a crash: it passes through unrecorded.
static int file_shm_map(sqlite3_file *file, int page, int page_size, int extend, void volatile **out) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xShmMap(f->real, page, page_size, extend, out);
}

static int file_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void file_shm_barrier(sqlite3_file *file) {
    RecordingFile *f = (RecordingFile *)file;
    f->real->pMethods->xShmBarrier(f->real);
}

static int file_shm_unmap(sqlite3_file *file, int delete_flag) {
    RecordingFile *f = (RecordingFile *)file;
    return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

static int file_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **out) {
    // No memory-mapped reads: every change must go through xWrite.
    (void)file; (void)offset; (void)amount;
    *out = NULL;
    return SQLITE_OK;
}

static int file_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *pointer) {
    (void)file; (void)offset; (void)pointer;
    return SQLITE_OK;
}

static const sqlite3_io_methods recording_methods = {
    3, file_close, file_read, file_write, file_truncate, file_sync, file_size, file_lock, file_unlock, file_check_reserved_lock,
    file_control, file_sector_size, file_device_characteristics, file_shm_map, file_shm_lock, file_shm_barrier, file_shm_unmap,
    file_fetch, file_unfetch,
};

// MARK: The VFS methods.

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags) {
    (void)vfs;
    RecordingFile *f = (RecordingFile *)file;
    memset(f, 0, sizeof *f);
    f->real = sqlite3_malloc(unix_vfs->szOsFile);
    if (f->real == NULL) return SQLITE_NOMEM;
    memset(f->real, 0, (size_t)unix_vfs->szOsFile);
    int rc = unix_vfs->xOpen(unix_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        sqlite3_free(f->real);
        f->real = NULL;
        return rc;
    }
    f->base.pMethods = &recording_methods;
    if (watched(name)) {
        pthread_mutex_lock(&log_lock);
        f->number = next_file_number++;
        if (log_file) put_record(KIND_OPEN, f->number, 0, name, (int)strlen(name));
        pthread_mutex_unlock(&log_lock);
    }
    return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_directory) {
    (void)vfs;
    int rc = unix_vfs->xDelete(unix_vfs, name, sync_directory);
    if (rc == SQLITE_OK && watched(name)) {
        pthread_mutex_lock(&log_lock);
        if (log_file) put_record(sync_directory ? KIND_DELETE_SYNCED : KIND_DELETE, -1, 0, name, (int)strlen(name));
        pthread_mutex_unlock(&log_lock);
    }
    return rc;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return unix_vfs->xAccess(unix_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
    (void)vfs;
    return unix_vfs->xFullPathname(unix_vfs, name, size, out);
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name) { (void)vfs; return unix_vfs->xDlOpen(unix_vfs, name); }
static void vfs_dl_error(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; unix_vfs->xDlError(unix_vfs, size, out); }
static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return unix_vfs->xDlSym(unix_vfs, handle, symbol);
}
static void vfs_dl_close(sqlite3_vfs *vfs, void *handle) { (void)vfs; unix_vfs->xDlClose(unix_vfs, handle); }
static int vfs_randomness(sqlite3_vfs *vfs, int size, char *out) { (void)vfs; return unix_vfs->xRandomness(unix_vfs, size, out); }
static int vfs_sleep(sqlite3_vfs *vfs, int microseconds) { (void)vfs; return unix_vfs->xSleep(unix_vfs, microseconds); }
static int vfs_current_time(sqlite3_vfs *vfs, double *out) { (void)vfs; return unix_vfs->xCurrentTime(unix_vfs, out); }
static int vfs_get_last_error(sqlite3_vfs *vfs, int size, char *out) {
    (void)vfs;
    return unix_vfs->xGetLastError ? unix_vfs->xGetLastError(unix_vfs, size, out) : 0;
}
static int vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return unix_vfs->xCurrentTimeInt64(unix_vfs, out);
}

int power_cut_vfs_install(const char *directory, const char *log_path) {
    if (log_file != NULL) return 1;
    unix_vfs = sqlite3_vfs_find("unix");
    if (unix_vfs == NULL) return 2;
    char *resolved = realpath(directory, NULL);
    if (resolved == NULL) return 5;
    log_file = fopen(log_path, "wb");
    if (log_file == NULL) {
        free(resolved);
        return 3;
    }
    // SQLite opens files by their resolved paths: compare with the same.
    free(watched_directory);
    watched_directory = resolved;
    log_failed = 0;
    next_file_number = 1;
    memset(&recording_vfs, 0, sizeof recording_vfs);
    recording_vfs.iVersion = 2;
    recording_vfs.szOsFile = (int)sizeof(RecordingFile);
    recording_vfs.mxPathname = unix_vfs->mxPathname;
    recording_vfs.zName = "power-cut-recorder";
    recording_vfs.xOpen = vfs_open;
    recording_vfs.xDelete = vfs_delete;
    recording_vfs.xAccess = vfs_access;
    recording_vfs.xFullPathname = vfs_full_pathname;
    recording_vfs.xDlOpen = vfs_dl_open;
    recording_vfs.xDlError = vfs_dl_error;
    recording_vfs.xDlSym = vfs_dl_sym;
    recording_vfs.xDlClose = vfs_dl_close;
    recording_vfs.xRandomness = vfs_randomness;
    recording_vfs.xSleep = vfs_sleep;
    recording_vfs.xCurrentTime = vfs_current_time;
    recording_vfs.xGetLastError = vfs_get_last_error;
    recording_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
    return sqlite3_vfs_register(&recording_vfs, 1) == SQLITE_OK ? 0 : 4;
}

int power_cut_vfs_uninstall(void) {
    if (log_file == NULL) return 1;
    sqlite3_vfs_register(unix_vfs, 1);
    sqlite3_vfs_unregister(&recording_vfs);
    pthread_mutex_lock(&log_lock);
    if (fclose(log_file) != 0) log_failed = 1;
    log_file = NULL;
    pthread_mutex_unlock(&log_lock);
    return log_failed ? 2 : 0;
}

void power_cut_vfs_mark(const char *text) {
    pthread_mutex_lock(&log_lock);
    if (log_file) put_record(KIND_MARK, -1, 0, text, (int)strlen(text));
    pthread_mutex_unlock(&log_lock);
}
