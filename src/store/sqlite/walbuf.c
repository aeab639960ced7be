/* src/store/sqlite/walbuf.c — a SQLite VFS over the default one that hands
 * the writer's runs of consecutive writes to the kernel as one write.
 *
 * SQLite writes a WAL frame as two pwrite calls (its 24-byte header, then
 * the page), so a group commit that touches 60 pages makes 120 system
 * calls before its fsync; a checkpoint then copies each page back with a
 * pwrite of its own, though many are neighbours. On a machine where a
 * system call is dear that is a good part of the writer's time
 * (docs/performance.md "Fewer system calls"). This VFS keeps a file's
 * consecutive writes (the WAL's frames; a checkpoint's pages in the
 * database file) in a buffer of the file's own and passes them on as one
 * write at the latest when anything could look at the file:
 *
 *   - the file's xSync (a commit's fsync of the WAL, synchronous=FULL; a
 *     checkpoint's of the database file before it says it is done): where
 *     a failure to write is reported, and the commit or checkpoint fails,
 *   - any other use of the file: a read, xFileSize, xTruncate, xFetch, a
 *     file control, a lock or unlock, a write that does not extend the
 *     buffer (unless it falls inside it: a frame rewritten in the same
 *     transaction is overlaid), a full buffer, xClose,
 *   - and, for both files of a connection, the database file's xShmLock
 *     and xShmBarrier: every change of the WAL's locks (its write lock and
 *     the checkpointer's are released only through them) and the
 *     publication of a new wal-index header (readers read frames only
 *     below what it says, and it is written across a barrier).
 *
 * So any other connection, in this process or another, finds in the files
 * what it would without the buffers; what is still in a buffer is what no
 * committed header or finished checkpoint points to, whose loss in a crash
 * loses nothing acknowledged. What the VFS relies on: synchronous=FULL (or
 * EXTRA), so that a commit's frames and a checkpoint's pages are written,
 * and a failure reported, by an xSync; xShmBarrier cannot report one.
 *
 * Threads: a file is used by its connection's thread; the buffer is the
 * file's own.
 */
#include <pthread.h>
#include <string.h>

#include "base/alloc.h"
#include "store/sqlite/sqlite.h"

/* bytes kept before they are written anyway: the unix VFS writes at most
 * 0x1ffff bytes in one call (it masks the length, and a shorter write is
 * "disk full" to it), so 128 KiB less one: 31 frames of 4 KiB pages */
#define WALBUF_CAP 0x1ffffu

typedef struct wb_file wb_file;
struct wb_file {
    sqlite3_file base;  /* pMethods: &methods */
    sqlite3_file *real; /* the default VFS's file (its own allocation) */
    wb_file *wal;       /* database file: its WAL while that is open */
    wb_file *db;        /* WAL file: its database file */
    /* bytes at [off, off + len) not yet handed on */
    char *buf;
    size_t len;
    sqlite3_int64 off;
};

static sqlite3_vfs vfs;

/* The VFS below: the default one when a file is opened (a test may have
 * put one of its own in front of the system's); never this one. */
static sqlite3_vfs *base_vfs(void) {
    sqlite3_vfs *v = sqlite3_vfs_find(NULL);
    return v && v != &vfs ? v : sqlite3_vfs_find("unix");
}

static inline wb_file *wb(sqlite3_file *f) { return (wb_file *)f; }

/* Hand the buffer on; it is empty afterwards whatever the outcome (a
 * stale buffer must never be written later over another writer's frames). */
static int flush(wb_file *p) {
    if (!p->len) return SQLITE_OK;
    int rc = p->real->pMethods->xWrite(p->real, p->buf, (int)p->len, p->off);
    p->len = 0;
    return rc;
}

/* ---- buffered calls (the database file and its WAL alike): each hands
 * the buffer on before it passes on ---- */

static int buf_close(sqlite3_file *f) {
    wb_file *p = wb(f);
    int rc = flush(p);
    if (p->db && p->db->wal == p) p->db->wal = NULL;
    if (p->wal && p->wal->db == p) p->wal->db = NULL;
    hs_free(p->buf);
    p->buf = NULL;
    int rc2 = p->real->pMethods->xClose(p->real);
    hs_free(p->real);
    return rc != SQLITE_OK ? rc : rc2;
}

static int buf_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 ofst) {
    wb_file *p = wb(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xRead(p->real, out, amt, ofst);
}

static int buf_write(sqlite3_file *f, const void *data, int amt, sqlite3_int64 ofst) {
    wb_file *p = wb(f);
    size_t n = (size_t)amt;
    if (p->len && ofst >= p->off && ofst + amt <= p->off + (sqlite3_int64)p->len) {
        memcpy(p->buf + (ofst - p->off), data, n); /* rewritten in place */
        return SQLITE_OK;
    }
    if (p->len && ofst == p->off + (sqlite3_int64)p->len && p->len + n <= WALBUF_CAP) {
        memcpy(p->buf + p->len, data, n);
        p->len += n;
        return SQLITE_OK;
    }
    int rc = flush(p);
    if (rc != SQLITE_OK) return rc;
    if (n >= WALBUF_CAP) return p->real->pMethods->xWrite(p->real, data, amt, ofst);
    if (!p->buf) p->buf = hs_malloc(WALBUF_CAP);
    memcpy(p->buf, data, n);
    p->off = ofst;
    p->len = n;
    return SQLITE_OK;
}

static int buf_truncate(sqlite3_file *f, sqlite3_int64 size) {
    wb_file *p = wb(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xTruncate(p->real, size);
}

static int buf_sync(sqlite3_file *f, int flags) {
    wb_file *p = wb(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int buf_file_size(sqlite3_file *f, sqlite3_int64 *size) {
    wb_file *p = wb(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, size);
}

static int buf_lock(sqlite3_file *f, int level) {
    wb_file *p = wb(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xLock(p->real, level);
}

static int buf_unlock(sqlite3_file *f, int level) {
    wb_file *p = wb(f);
    (void)flush(p); /* an unlock goes ahead: see shm_lock */
    return p->real->pMethods->xUnlock(p->real, level);
}

static int buf_file_control(sqlite3_file *f, int op, void *arg) {
    wb_file *p = wb(f);
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFileControl(p->real, op, arg);
}

static int buf_fetch(sqlite3_file *f, sqlite3_int64 ofst, int amt, void **pp) {
    wb_file *p = wb(f);
    *pp = NULL;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFetch(p->real, ofst, amt, pp);
}

/* ---- calls passed on as they are ---- */

static int fwd_check_reserved(sqlite3_file *f, int *out) {
    return wb(f)->real->pMethods->xCheckReservedLock(wb(f)->real, out);
}
static int fwd_sector_size(sqlite3_file *f) { return wb(f)->real->pMethods->xSectorSize(wb(f)->real); }
static int fwd_device_characteristics(sqlite3_file *f) {
    return wb(f)->real->pMethods->xDeviceCharacteristics(wb(f)->real);
}
static int fwd_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp) {
    return wb(f)->real->pMethods->xShmMap(wb(f)->real, region, size, extend, pp);
}
static int fwd_shm_unmap(sqlite3_file *f, int del) { return wb(f)->real->pMethods->xShmUnmap(wb(f)->real, del); }
static int fwd_unfetch(sqlite3_file *f, sqlite3_int64 ofst, void *ptr) {
    return wb(f)->real->pMethods->xUnfetch(wb(f)->real, ofst, ptr);
}

/* ---- shared memory (only the database file's is used): both buffers
 * are handed on before any WAL lock changes or a wal-index header is
 * published ---- */

static int flush_both(wb_file *p) {
    int rc = flush(p);
    int rc2 = p->wal ? flush(p->wal) : SQLITE_OK;
    return rc != SQLITE_OK ? rc : rc2;
}

static int shm_lock(sqlite3_file *f, int ofst, int n, int flags) {
    wb_file *p = wb(f);
    int rc = flush_both(p);
    /* a lock is not taken after a failed write; an unlock goes ahead (what
     * was left then was no commit's: those went out with their xSync) */
    if (rc != SQLITE_OK && !(flags & SQLITE_SHM_UNLOCK)) return rc;
    return p->real->pMethods->xShmLock(p->real, ofst, n, flags);
}

static void shm_barrier(sqlite3_file *f) {
    wb_file *p = wb(f);
    (void)flush_both(p); /* with synchronous=FULL, empty here: xSync wrote them */
    p->real->pMethods->xShmBarrier(p->real);
}

/* One table for every file: a WAL file's shared-memory calls are never
 * made (SQLite makes them on the database file), and its wal is NULL. */
static const sqlite3_io_methods methods = {
    3,
    buf_close,
    buf_read,
    buf_write,
    buf_truncate,
    buf_sync,
    buf_file_size,
    buf_lock,
    buf_unlock,
    fwd_check_reserved,
    buf_file_control,
    fwd_sector_size,
    fwd_device_characteristics,
    fwd_shm_map,
    shm_lock,
    shm_barrier,
    fwd_shm_unmap,
    buf_fetch,
    fwd_unfetch,
};

/* ---- the VFS ---- */

static int wb_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags, int *out_flags) {
    (void)v;
    wb_file *p = wb(f);
    memset(p, 0, sizeof *p);
    sqlite3_vfs *below = base_vfs();
    p->real = hs_calloc(1, (size_t)below->szOsFile);
    int rc = below->xOpen(below, name, p->real, flags, out_flags);
    if (rc == SQLITE_OK && p->real->pMethods && p->real->pMethods->iVersion < 3) {
        /* without shared memory or fetch: not a VFS this one can sit on */
        p->real->pMethods->xClose(p->real);
        rc = SQLITE_CANTOPEN;
    } else if (rc == SQLITE_OK && !p->real->pMethods) {
        rc = SQLITE_CANTOPEN;
    }
    if (rc != SQLITE_OK) {
        hs_free(p->real);
        p->real = NULL;
        p->base.pMethods = NULL; /* nothing to close */
        return rc;
    }
    p->base.pMethods = &methods;
    if (flags & SQLITE_OPEN_WAL) {
        sqlite3_file *dbf = sqlite3_database_file_object(name);
        if (dbf && dbf->pMethods == &methods) {
            p->db = wb(dbf);
            p->db->wal = p;
        }
    }
    return SQLITE_OK;
}

static int wb_delete(sqlite3_vfs *v, const char *name, int sync_dir) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xDelete(below, name, sync_dir);
}
static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xAccess(below, name, flags, out);
}
static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xFullPathname(below, name, n, out);
}
static void *wb_dlopen(sqlite3_vfs *v, const char *name) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xDlOpen(below, name);
}
static void wb_dlerror(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    below->xDlError(below, n, out);
}
static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xDlSym(below, h, sym);
}
static void wb_dlclose(sqlite3_vfs *v, void *h) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    below->xDlClose(below, h);
}
static int wb_randomness(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xRandomness(below, n, out);
}
static int wb_sleep(sqlite3_vfs *v, int us) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xSleep(below, us);
}
static int wb_current_time(sqlite3_vfs *v, double *out) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xCurrentTime(below, out);
}
static int wb_get_last_error(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xGetLastError ? below->xGetLastError(below, n, out) : 0;
}
static int wb_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out) {
    (void)v;
    sqlite3_vfs *below = base_vfs();
    return below->xCurrentTimeInt64(below, out);
}

static int registered = SQLITE_ERROR;

static void register_once(void) {
    sqlite3_vfs *below = base_vfs();
    if (!below || below->iVersion < 2) return;
    vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(wb_file),
        .mxPathname = below->mxPathname,
        .zName = HS_SQLITE_WALBUF_VFS,
        .xOpen = wb_open,
        .xDelete = wb_delete,
        .xAccess = wb_access,
        .xFullPathname = wb_full_pathname,
        .xDlOpen = wb_dlopen,
        .xDlError = wb_dlerror,
        .xDlSym = wb_dlsym,
        .xDlClose = wb_dlclose,
        .xRandomness = wb_randomness,
        .xSleep = wb_sleep,
        .xCurrentTime = wb_current_time,
        .xGetLastError = wb_get_last_error,
        .xCurrentTimeInt64 = wb_current_time_int64,
    };
    registered = sqlite3_vfs_register(&vfs, 0);
}

const char *hs_sqlite_walbuf_vfs(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return registered == SQLITE_OK ? HS_SQLITE_WALBUF_VFS : NULL;
}
