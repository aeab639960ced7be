/* src/store/sqlite/dedup.c — the dedup keys of SQLite (store.h "ingest"):
 * a table in memory, kept by the writer thread, over a log of claims in
 * the database (table dedup_keys: the slots below, appended).
 *
 * Why not a lookup in the database: a key is a SHA-256, so the index of a
 * table keyed by it takes every insert on a random page, and in WAL mode
 * a group of N ingests then writes N pages (4 KiB each) instead of a few:
 * that halved ingest. Here the lookup is in memory, and the database gets
 * the group's claims in one appended row, written by the flush (rowid
 * order, no index: 40 bytes a claim in one blob, and the latest end of
 * their windows, which the sweep goes by).
 * The log is the truth: at open the table is filled from
 * the claims whose window is still open, so a window holds across
 * restarts and kill -9 (only committed claims are in the log). SQLite has
 * one writer, so the table decides at once and alone; PostgreSQL, shared
 * by nodes, decides in the database (src/store/pg/arrivals.c).
 *
 * The table: open addressing, linear probing, on 16 bytes of
 * SHA-256(source id, NUL, key) (so sources never share a key), with the
 * holding event's id (16 bytes) and the window's end; 40 bytes a slot, in
 * 256 parts, each grown at half full after dropping its closed windows
 * (to four times what is left), so a part is a quarter to half full:
 * 80 to 160 bytes per key whose window is open; growing never moves more
 * than a part. A group's claims are noted
 * (with what they replaced) until it commits; a failed group puts them
 * back (hs_dedup_discard).
 *
 * Windows run from the event's received_at. Writer thread only.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/digest.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "store/sqlite/sqlite.h"

typedef struct hs_sq_dedup_slot {
    uint8_t key[16];
    uint8_t event[16];  /* the event id's 32 hex digits */
    int64_t expires_at; /* 0: a free slot */
} hs_sq_dedup_slot;

/* A claim of the open group, and the slot it replaced (expires_at 0: none). */
typedef struct hs_sq_dedup_undo {
    hs_sq_dedup_slot now, before;
} hs_sq_dedup_undo;

/* One of the table's parts: keys are spread over DEDUP_SHARDS of them (by
 * a byte of the key that probing does not use), so that growing a part
 * moves 1/256 of the keys: with a million keys one table took the writer
 * ~300 ms to grow, and every ingest waited for it. */
#define DEDUP_SHARDS 256
typedef struct shard {
    hs_sq_dedup_slot *v;
    size_t cap, n; /* slots (a power of two, or 0), slots in use */
} shard;

struct hs_sq_dedup {
    shard shards[DEDUP_SHARDS];
    /* the open group's claims, with what each replaced; [0..logged) are
     * in the log already (hs_dedup_flush) */
    hs_sq_dedup_undo *undo;
    size_t nundo, undo_cap, logged;
};

/* SHA-256 of source_id, a NUL and key (at most sizeof text - 1 bytes of
 * them, as the log's keys were always made), its first 16 bytes */
static void slot_key(const char *source_id, const char *key, uint8_t out[16]) {
    char text[HS_ID_MAX + HS_DEDUP_KEY_MAX];
    size_t a = strnlen(source_id, sizeof text - 1), n = a;
    memcpy(text, source_id, a);
    if (n < sizeof text - 1) text[n++] = '\0';
    size_t b = strnlen(key, sizeof text - 1 - n);
    memcpy(text + n, key, b);
    n += b;
    unsigned char md[32];
    hs_sha256(text, n, md);
    memcpy(out, md, 16);
}

static int unhex(char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

/* "evt_" + 32 hex digits <-> 16 bytes */
static bool event_pack(const char *id, uint8_t out[16]) {
    if (strncmp(id, "evt_", 4) != 0 || strlen(id) != 36) return false;
    for (int i = 0; i < 16; i++) {
        int hi = unhex(id[4 + 2 * i]), lo = unhex(id[5 + 2 * i]);
        if (hi < 0 || lo < 0) return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static void event_unpack(const uint8_t in[16], char out[HS_ID_MAX]) {
    memcpy(out, "evt_", 4);
    hs_hex(in, 16, out + 4);
}

static shard *shard_of(hs_sq_dedup *t, const uint8_t key[16]) { return &t->shards[key[15]]; }

static size_t home(const shard *d, const uint8_t key[16]) {
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return (size_t)h & (d->cap - 1);
}

static inline bool key_eq(const uint8_t a[16], const uint8_t b[16]) {
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* The slot holding key, or the free one where it would go (a part with
 * slots: cap > 0). */
static size_t probe(const shard *d, const uint8_t key[16]) {
    size_t i = home(d, key);
    while (d->v[i].expires_at && !key_eq(d->v[i].key, key)) i = (i + 1) & (d->cap - 1);
    return i;
}

static hs_sq_dedup_slot *find(shard *d, const uint8_t key[16]) {
    if (!d->cap) return NULL;
    size_t i = probe(d, key);
    return d->v[i].expires_at ? &d->v[i] : NULL;
}

/* Into a part with room. */
static void place(shard *d, const hs_sq_dedup_slot *e) {
    size_t i = probe(d, e->key);
    if (!d->v[i].expires_at) d->n++;
    d->v[i] = *e;
}

/* Remove the slot at i, shifting back the ones its removal would hide. */
static void remove_at(shard *d, size_t i) {
    d->v[i].expires_at = 0;
    d->n--;
    for (size_t j = (i + 1) & (d->cap - 1); d->v[j].expires_at; j = (j + 1) & (d->cap - 1)) {
        size_t h = home(d, d->v[j].key);
        /* j may stay unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
        if (stays) continue;
        d->v[i] = d->v[j];
        d->v[j].expires_at = 0;
        i = j;
    }
}

/* Room for one more in a part: at half full, the closed windows go, and
 * the part doubles if it is still a quarter full. */
static void reserve(shard *d, int64_t now) {
    if (2 * (d->n + 1) <= d->cap) return;
    size_t live = 0;
    for (size_t i = 0; i < d->cap; i++) live += d->v[i].expires_at > now;
    size_t cap = 16;
    while (cap < 4 * (live + 1)) cap *= 2;
    hs_sq_dedup_slot *old = d->v;
    size_t old_cap = d->cap;
    d->v = hs_calloc(cap, sizeof *d->v);
    d->cap = cap;
    d->n = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].expires_at > now) place(d, &old[i]);
    hs_free(old);
}

/* A claim in the log: its slot, 40 bytes (key, event, the window's end in
 * little-endian). */
#define LOGGED_SIZE 40

static void log_put(unsigned char *out, const hs_sq_dedup_slot *e) {
    memcpy(out, e->key, 16);
    memcpy(out + 16, e->event, 16);
    uint64_t t = (uint64_t)e->expires_at;
    for (int i = 0; i < 8; i++) out[32 + i] = (unsigned char)(t >> (8 * i));
}

static void log_get(const unsigned char *in, hs_sq_dedup_slot *e) {
    memcpy(e->key, in, 16);
    memcpy(e->event, in + 16, 16);
    uint64_t t = 0;
    for (int i = 0; i < 8; i++) t |= (uint64_t)in[32 + i] << (8 * i);
    e->expires_at = (int64_t)t;
}

int hs_dedup_claim(hs_store *s, hs_ingest *ing, hs_error *err) {
    hs_sq_dedup *d = hs__sq(s)->dedup;
    int64_t now = (int64_t)ing->received_at, until = (int64_t)(ing->received_at + ing->dedup_window_ms);
    hs_sq_dedup_slot e = {.expires_at = until};
    slot_key(ing->source_id, ing->dedup_key, e.key);
    shard *part = shard_of(d, e.key);
    reserve(part, now); /* first: one probe finds the key or its place */
    size_t at = probe(part, e.key);
    hs_sq_dedup_slot *held = part->v[at].expires_at ? &part->v[at] : NULL;
    if (held && held->expires_at > now) {
        char original[HS_ID_MAX];
        event_unpack(held->event, original);
        hs__ingest_duplicate(ing, original);
        return HS_OK;
    }
    if (!event_pack(ing->event_id, e.event))
        return hs_error_set(err, HS_ERR_INTERNAL, NULL, "event id %s is not of the form evt_<32 hex>", ing->event_id);
    /* written to the log with the group's other claims, by the flush */
    if (d->nundo == d->undo_cap) {
        d->undo_cap = d->undo_cap ? 2 * d->undo_cap : 64;
        d->undo = hs_realloc(d->undo, d->undo_cap * sizeof *d->undo);
    }
    hs_sq_dedup_undo *u = &d->undo[d->nundo++];
    u->now = e;
    if (held)
        u->before = *held;
    else
        memset(&u->before, 0, sizeof u->before);
    if (!held) part->n++;
    part->v[at] = e;
    return HS_OK;
}

int hs_dedup_flush(hs_store *s, hs_error *err) {
    hs_sq_dedup *d = hs__sq(s)->dedup;
    if (d->logged == d->nundo) return HS_OK;
    size_t n = d->nundo - d->logged;
    unsigned char *blob = hs_malloc(n * LOGGED_SIZE);
    int64_t until = 0;
    for (size_t i = 0; i < n; i++) {
        const hs_sq_dedup_slot *e = &d->undo[d->logged + i].now;
        log_put(blob + i * LOGGED_SIZE, e);
        if (e->expires_at > until) until = e->expires_at;
    }
    hs_sqlite_db *w = hs__sq_writer(s);
    sqlite3_stmt *st = hs_stmt(w, "INSERT INTO dedup_keys(expires_at, claims) VALUES(?1, ?2)", err);
    int ret = st ? HS_OK : err->code;
    if (st) {
        sqlite3_bind_int64(st, 1, until);
        sqlite3_bind_blob(st, 2, blob, (int)(n * LOGGED_SIZE), SQLITE_STATIC);
        int rc = sqlite3_step(st);
        hs_stmt_done(w, st);
        if (rc != SQLITE_DONE) ret = hs_sqlite_fail(err, w->db, rc, "keeping the events' dedup keys");
    }
    hs_free(blob);
    if (ret == HS_OK) d->logged = d->nundo;
    return ret;
}

void hs_dedup_committed(hs_store *s) { hs__sq(s)->dedup->nundo = hs__sq(s)->dedup->logged = 0; }

void hs_dedup_discard(hs_store *s) {
    hs_sq_dedup *d = hs__sq(s)->dedup;
    d->logged = 0; /* the rows went with the transaction */
    while (d->nundo) {
        const hs_sq_dedup_undo *u = &d->undo[--d->nundo];
        shard *part = shard_of(d, u->now.key);
        if (u->before.expires_at) {
            place(part, &u->before);
            continue;
        }
        hs_sq_dedup_slot *e = find(part, u->now.key);
        if (e) remove_at(part, (size_t)(e - part->v));
    }
}

int hs_dedup_load(hs_store *s, hs_error *err) {
    hs__sqlite *q = hs__sq(s);
    q->dedup = hs_calloc(1, sizeof *q->dedup);
    int64_t now = (int64_t)hs_now_ms();
    sqlite3_stmt *st = hs_stmt(&q->writer, "SELECT claims FROM dedup_keys WHERE expires_at > ?1 ORDER BY rowid", err);
    if (!st) return err->code;
    sqlite3_bind_int64(st, 1, now);
    int rc;
    size_t loaded = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *claims = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0) / LOGGED_SIZE;
        for (size_t i = 0; claims && i < n; i++) {
            hs_sq_dedup_slot e;
            log_get(claims + i * LOGGED_SIZE, &e);
            if (e.expires_at <= now) continue;
            shard *part = shard_of(q->dedup, e.key);
            reserve(part, now);
            place(part, &e); /* a later claim of a key replaces an earlier one */
            loaded++;
        }
    }
    hs_stmt_done(&q->writer, st);
    if (rc != SQLITE_DONE) return hs_sqlite_fail(err, q->writer.db, rc, "reading the dedup keys");
    if (loaded) hs_debug("store: %zu dedup keys with an open window", loaded);
    return HS_OK;
}

void hs_dedup_free(hs_store *s) {
    hs_sq_dedup *d = hs__sq(s)->dedup;
    if (!d) return;
    for (int i = 0; i < DEDUP_SHARDS; i++) hs_free(d->shards[i].v);
    hs_free(d->undo);
    hs_free(d);
    hs__sq(s)->dedup = NULL;
}
