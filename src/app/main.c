/* src/app/main.c — `hookstream serve`: wire the store, the API and the HTTP server to
 * one libuv loop, and shut them down in order on SIGTERM/SIGINT; and
 * `hookstream secrets rotate-key`, which runs without a server.
 *
 * Secrets at rest (src/base/secretbox.h): serve loads the key (--secret-key-file,
 * HOOKSTREAM_SECRET_KEY, or <db>.key, created at the first start of a
 * database with nothing sealed), then checks every stored secret opens
 * under it and seals the ones still in clear (hs_store_reseal) before
 * anything else reads the store. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/alloc.h"
#include "base/url.h"
#include "base/loops.h"
#include "base/mailbox.h"
#include "api/api.h"
#include "api/frontdoor.h"
#include "api/auth.h"
#include "app/client.h"
#include "app/config.h"
#include "core/resource.h"
#include "http/server.h"
#include "observe/failures.h"
#include "observe/live.h"
#include "base/log.h"
#include "http/netguard.h"
#include "observe/metrics.h"
#include "cluster/cluster.h"
#include "delivery/replay.h"
#include "delivery/scheduler.h"
#include "maintenance/retention.h"
#include "ops/ops.h"
#include "base/secretbox.h"
#include "store/store.h"
#include "base/version.h"
#include "ws/ws.h"

typedef struct server {
    uv_loop_t *loop;
    hs_mailbox mb;   /* the loop's (src/base/mailbox.h): store completions, other loops' messages */
    hs_loops *loops; /* --threads: loop 0 is this one */
    /* the HTTP servers of loops 1..n-1, serving connections the listening
     * one (http, loop 0's) hands them; one per loop, freed on its thread */
    hs_http_server **siblings;
    size_t draining; /* servers whose shutdown has not completed */
    hs_http_config hc;
    hs_config cfg;
    char db_shown[512]; /* cfg.db as messages show it: no password (hs_url_redact) */
    hs_store *store;
    hs_auth *auth;
    hs_api *api;
    hs_scheduler *sched;
    hs_cluster *cluster;      /* NULL: a store of one server (SQLite) */
    hs_retention *retention;  /* events past --retention (if on), closed dedup keys */
    hs_replay_runner *replay; /* replay jobs (src/delivery/replay.h) */
    hs_ops *ops;              /* issues, channels, alert rules */
    hs_http_server *http;
    hs_ws_hub *ws;
    hs_metrics *metrics;
    hs_frontdoor *frontdoor; /* sources' IP lists and rate limits; freed after serve() */
    hs_hooks hooks;          /* who hears of what; filled in subscribe() */
    hs_secretbox box;
    uv_signal_t sigterm, sigint;
    int stopping;
} server;

/* Issues and alerts have stopped (their jobs ended): the store closes. */
static void after_ops_stop(void *ud) {
    server *s = ud;
    hs_info("deliveries stopped; closing the store");
    hs_cluster_stop(s->cluster, NULL, NULL); /* the leases go back now that nothing is sent */
    hs_retention_stop(s->retention);         /* a sweep under way completes as the store closes */
    s->retention = NULL;
    hs_error err;
    hs_error_clear(&err);
    if (hs_auth_close(s->auth, &err)) hs_warn("api keys: could not note when keys were last used: %s", err.msg);
    hs_store_close(s->store); /* commits what is queued; frees in a close callback */
    s->store = NULL;
    if (uv_is_active((uv_handle_t *)&s->sigterm)) {
        uv_close((uv_handle_t *)&s->sigterm, NULL);
        uv_close((uv_handle_t *)&s->sigint, NULL);
    }
}

static void after_scheduler_stop(void *ud) {
    server *s = ud;
    hs_ops_stop(s->ops, after_ops_stop, s); /* its jobs read the store */
}

/* Inbound first (no new events), then outbound (transfers cancelled: those
 * deliveries stay pending and go out after the restart), then the store. */
static void after_http_shutdown(void *ud) {
    server *s = ud;
    if (--s->draining > 0) return; /* every loop's server */
    hs_info("connections drained; stopping deliveries");
    hs_replay_runner_stop(s->replay); /* nothing more enqueued; a step under way completes */
    s->replay = NULL;
    hs_scheduler_stop(s->sched, after_scheduler_stop, s);
}

/* ---- the HTTP servers of the other loops ---- */

typedef struct sibling_msg {
    hs_msg msg;
    server *s;
    hs_http_server *srv;
} sibling_msg;

static void run_sibling_drained(hs_msg *m) {
    sibling_msg *x = (sibling_msg *)m;
    server *s = x->s;
    hs_free(x);
    hs_mailbox_answered(&s->mb);
    after_http_shutdown(s);
}

/* On the sibling's loop. */
static void sibling_drained(void *ud) {
    sibling_msg *x = ud;
    hs_mailbox_post(&x->s->mb, &x->msg, run_sibling_drained);
}

static void run_sibling_shutdown(hs_msg *m) {
    sibling_msg *x = (sibling_msg *)m;
    hs_http_server_shutdown(x->srv, sibling_drained, x);
}

/* Every loop's server drains; after_http_shutdown once all have. */
static void http_shutdown(server *s) {
    size_t n = hs_loops_count(s->loops);
    s->draining = n;
    for (size_t i = 1; i < n; i++) {
        sibling_msg *x = hs_calloc(1, sizeof *x);
        x->s = s;
        x->srv = s->siblings[i - 1];
        hs_mailbox_expect(&s->mb);
        hs_mailbox_post(hs_loops_mailbox(s->loops, i), &x->msg, run_sibling_shutdown);
    }
    hs_http_server_shutdown(s->http, after_http_shutdown, s);
}

static void make_sibling(size_t i, void *ud) {
    server *s = ud;
    hs_http_server *srv = NULL;
    if (hs_http_server_new(hs_loops_loop(s->loops, i), &s->hc, hs_api_handle, s->api, &srv) == HS_OK)
        hs_http_server_serve_handed(srv);
    s->siblings[i - 1] = srv;
}

/* What a loop's server did, in the log at the stop. */
static void log_served(size_t i, const hs_http_server *srv) {
    hs_http_stats st;
    hs_http_server_stats(srv, &st);
    hs_info("http: loop %zu served %llu connections, %llu requests", i, (unsigned long long)st.connections_accepted,
            (unsigned long long)st.requests);
}

static void free_sibling(size_t i, void *ud) {
    server *s = ud;
    log_served(i, s->siblings[i - 1]);
    hs_http_server_free(s->siblings[i - 1]); /* released as its loop runs out */
    s->siblings[i - 1] = NULL;
}

/* A server on each other loop, fed by the listening one. */
static void make_siblings(server *s) {
    size_t n = hs_loops_count(s->loops);
    s->siblings = hs_calloc(n, sizeof *s->siblings);
    for (size_t i = 1; i < n; i++) hs_loops_run_sync(s->loops, i, make_sibling, s);
    hs_http_server_spread(s->http, s->siblings, n - 1);
}

static void free_siblings(server *s) {
    for (size_t i = 1; s->siblings && i < hs_loops_count(s->loops); i++)
        if (s->siblings[i - 1]) hs_loops_run_sync(s->loops, i, free_sibling, s);
    hs_free(s->siblings);
    s->siblings = NULL;
}

static void on_signal(uv_signal_t *h, int signum) {
    server *s = h->data;
    if (s->stopping++) {
        hs_warn("second signal: exiting at once");
        exit(1);
    }
    hs_info("received %s: shutting down gracefully", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    hs_ws_hub_shutdown(s->ws); /* clients get 1001 while requests drain */
    http_shutdown(s);
}

/* OpenSSL keeps per-thread state (the error queue, a random generator) in
 * every threadpool thread that signed or hashed something, and libuv's
 * threads outlive main, so only the OS would reclaim it (valgrind reports
 * it as lost). Before exit each pool thread releases its own: one job per
 * thread, all held at a barrier until every one runs, so no thread takes
 * two. */
static pthread_barrier_t g_release_barrier;

static void release_work(uv_work_t *w) {
    (void)w;
    OPENSSL_thread_stop();
    pthread_barrier_wait(&g_release_barrier);
}

static void release_done(uv_work_t *w, int status) { (void)w, (void)status; }

static void release_thread_state(uv_loop_t *loop) {
    /* the pool's size as libuv reads it: 1..1024, 4 when unset */
    const char *env = getenv("UV_THREADPOOL_SIZE");
    long n = env ? strtol(env, NULL, 10) : 4;
    if (n < 1) n = 1;
    if (n > 1024) n = 1024;
    if (pthread_barrier_init(&g_release_barrier, NULL, (unsigned)n) != 0) return;
    uv_work_t *w = hs_calloc((size_t)n, sizeof *w);
    for (long i = 0; i < n; i++) uv_queue_work(loop, &w[i], release_work, release_done);
    uv_run(loop, UV_RUN_DEFAULT);
    pthread_barrier_destroy(&g_release_barrier);
    hs_free(w);
}

/* ---- the secret key ---- */

/* A store on a server (a URL such as postgresql://...), not a file. */
static bool db_is_url(const char *db) { return strstr(db, "://") != NULL; }

/* The key file in use: --secret-key-file (or HOOKSTREAM_SECRET_KEY_FILE),
 * else <db>.key beside a file store, hookstream.key in the working
 * directory for a store on a server, unless HOOKSTREAM_SECRET_KEY gives the
 * key itself (NULL). */
static char *key_file_of(const hs_config *cfg) {
    if (cfg->secret_key_file) return hs_strdup(cfg->secret_key_file);
    if (cfg->secret_key) return NULL;
    if (db_is_url(cfg->db)) return hs_strdup("hookstream.key");
    return hs_sprintf("%s.key", cfg->db);
}

/* The current key, from its file or the environment. */
static int load_key(const hs_config *cfg, const char *file, hs_secretbox *box, hs_error *err) {
    if (!file) return hs_secretbox_parse(cfg->secret_key, "HOOKSTREAM_SECRET_KEY", box, err);
    return hs_secretbox_load_file(file, box, err);
}

/* A first start: a new key file, unless the database already holds sealed
 * secrets (then the key was lost or not given: never start over). */
static int create_key(const char *db, const char *db_shown, const char *file, hs_secretbox *box, hs_error *err) {
    int rc = hs_store_reseal(db, &hs_resource_secret_codec, NULL, NULL, NULL, err);
    if (rc == HS_ERR_UNAUTHORIZED) {
        char why[HS_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        return hs_error_set(err, rc, NULL,
                            "%s holds encrypted secrets but the key file %s does not exist; give the key "
                            "(--secret-key-file or HOOKSTREAM_SECRET_KEY) — %s",
                            db_shown, file, why);
    }
    if (rc == HS_OK) rc = hs_secretbox_create_file(file, box, err);
    if (rc == HS_OK) hs_info("created the secret key file %s (key %s): back it up with the database", file, box->id);
    return rc;
}

/* A rotation that committed but crashed before renaming KEYFILE.new over
 * KEYFILE left the database sealed under KEYFILE.new: finish it. */
static int finish_rotation(const char *db, const char *file, hs_secretbox *box, hs_reseal_stats *st, hs_error *err) {
    char *staged = hs_sprintf("%s.new", file);
    hs_secretbox next;
    hs_error ignored;
    int rc = access(staged, F_OK) == 0 ? hs_secretbox_load_file(staged, &next, &ignored) : HS_ERR_NOTFOUND;
    if (rc == HS_OK) rc = hs_store_reseal(db, &hs_resource_secret_codec, &next, &next, st, &ignored);
    if (rc == HS_OK) rc = hs_secretbox_replace_file(staged, file, err);
    if (rc == HS_OK) {
        hs_warn("completed an interrupted key rotation: %s (key %s) replaced %s (key %s)", staged, next.id, file,
                box->id);
        *box = next;
    }
    hs_secretbox_wipe(&next);
    hs_free(staged);
    return rc;
}

/* Load (or create) the key, check every stored secret opens under it and
 * seal those still in clear. */
static int open_secrets(server *s) {
    hs_error err;
    hs_error_clear(&err);
    char *file = key_file_of(&s->cfg);
    int rc = load_key(&s->cfg, file, &s->box, &err);
    if (rc == HS_ERR_NOTFOUND && !s->cfg.secret_key_file) rc = create_key(s->cfg.db, s->db_shown, file, &s->box, &err);
    hs_reseal_stats st;
    if (rc == HS_OK) rc = hs_store_reseal(s->cfg.db, &hs_resource_secret_codec, &s->box, &s->box, &st, &err);
    if (rc == HS_ERR_UNAUTHORIZED && file && finish_rotation(s->cfg.db, file, &s->box, &st, &err) == HS_OK) rc = HS_OK;
    if (rc == HS_ERR_UNAUTHORIZED)
        fprintf(stderr, "hookstream: the secret key (%s, key %s) does not open the secrets stored in %s: %s\n",
                file ? file : "HOOKSTREAM_SECRET_KEY", s->box.id, s->db_shown, err.msg);
    else if (rc)
        fprintf(stderr, "hookstream: secrets: %s\n", err.msg);
    if (rc == HS_OK && st.clear)
        hs_info("encrypted %zu secrets that were stored in clear (%zu rows)", st.clear, st.rewritten);
    if (rc == HS_OK && st.rewritten && !st.checkpointed) hs_warn("%s", st.checkpoint_err.msg);
    if (rc == HS_OK && file) {
        char *staged = hs_sprintf("%s.new", file);
        if (access(staged, F_OK) == 0)
            hs_warn("%s is left from a key rotation that did not commit; it is not in use and may be deleted", staged);
        hs_free(staged);
    }
    hs_free(file);
    return rc;
}

/* `hookstream secrets rotate-key`: see hs_usage_rotate_key for the steps. */
static int rotate_key(const hs_config *cfg) {
    hs_error err;
    hs_error_clear(&err);
    char *file = key_file_of(cfg), *staged = file ? hs_sprintf("%s.new", file) : NULL;
    hs_secretbox old, next;
    memset(&next, 0, sizeof next);
    int rc = HS_OK;
    bool made = false; /* staged was created here */
    if (!db_is_url(cfg->db) && access(cfg->db, F_OK) != 0)
        rc = hs_error_set(&err, HS_ERR_NOTFOUND, NULL, "no database at %s", cfg->db); /* a path: no password */
    if (rc == HS_OK) rc = load_key(cfg, file, &old, &err);
    if (rc == HS_OK && !file && !cfg->new_key_file)
        rc = hs_error_set(&err, HS_ERR_INVALID, NULL,
                          "the key comes from HOOKSTREAM_SECRET_KEY: give --new-key-file for the new one");
    if (rc == HS_OK && cfg->new_key_file) {
        rc = hs_secretbox_load_file(cfg->new_key_file, &next, &err);
        if (rc == HS_ERR_NOTFOUND) rc = hs_secretbox_create_file(cfg->new_key_file, &next, &err);
        if (rc == HS_OK && staged) rc = hs_secretbox_write_file(staged, &next, &err);
        made = rc == HS_OK && staged;
    } else if (rc == HS_OK) {
        rc = hs_secretbox_create_file(staged, &next, &err);
        made = rc == HS_OK;
    }
    if (rc == HS_ERR_CONFLICT && staged)
        snprintf(err.msg, sizeof err.msg,
                 "%s exists, left by an earlier rotation: if the server starts with %s, delete it and run again",
                 staged, file);
    if (rc == HS_OK && strcmp(old.id, next.id) == 0)
        rc = hs_error_set(&err, HS_ERR_INVALID, NULL, "the new key is the current key");
    hs_reseal_stats st;
    if (rc == HS_OK) rc = hs_store_reseal(cfg->db, &hs_resource_secret_codec, &old, &next, &st, &err);
    if (rc != HS_OK && made) unlink(staged); /* nothing committed: the old key stays */
    if (rc == HS_OK && staged) rc = hs_secretbox_replace_file(staged, file, &err);
    if (rc == HS_OK) {
        printf("hookstream: re-encrypted the secrets of %zu resources under key %s (was %s)\n", st.rewritten, next.id,
               old.id);
        if (st.rewritten && !st.checkpointed) fprintf(stderr, "hookstream: warning: %s\n", st.checkpoint_err.msg);
        if (file)
            printf("hookstream: %s now holds the new key\n", file);
        else
            printf("hookstream: set HOOKSTREAM_SECRET_KEY to the key in %s before the next start\n", cfg->new_key_file);
    } else {
        fprintf(stderr, "hookstream: secrets rotate-key: %s\n", err.msg);
    }
    hs_secretbox_wipe(&old);
    hs_secretbox_wipe(&next);
    hs_free(staged);
    hs_free(file);
    return rc == HS_OK ? 0 : 1;
}

/* Another node changed the API keys (loop 0). */
static void keys_changed(void *ud) {
    server *s = ud;
    hs_api_keys_changed(s->api);
}

/* This node in the cluster of servers sharing its database. */
static int start_cluster(server *s, int port, hs_error *err) {
    char listen[128];
    const char *fmt = strchr(s->cfg.listen_host, ':') ? "[%s]:%d" : "%s:%d";
    snprintf(listen, sizeof listen, fmt, s->cfg.listen_host, port);
    char node[HS_NODE_ID_MAX];
    if (s->cfg.node_id[0])
        snprintf(node, sizeof node, "%s", s->cfg.node_id);
    else
        snprintf(node, sizeof node, "%.*s", (int)sizeof node - 1, listen);
    if (!s->cfg.node_id[0]) /* brackets are not in a node id's alphabet */
        for (char *c = node; *c; c++)
            if (*c == '[' || *c == ']') *c = '_';
    hs_store_set_node_id(s->store, node);
    hs_cluster_config cc = {.node_id = node,
                            .listen = listen,
                            .role = s->cfg.role,
                            .lease_ms = s->cfg.lease_ms,
                            .keys_changed = keys_changed,
                            .keys_ud = s,
                            .hub = s->ws};
    int rc = hs_cluster_start(s->loop, &s->mb, s->store, s->sched, &s->hooks, &cc, &s->cluster, err);
    if (rc == HS_OK) hs_api_set_cluster(s->api, s->cluster, strcmp(s->cfg.role, "deliver") == 0);
    return rc;
}

/* The cluster hears of resources once it runs (it starts after the hooks
 * are wired). */
static void cluster_on_resource(const hs_resource_event *e, void *ud) {
    server *s = ud;
    if (s->cluster) hs_cluster_on_resource(e, s->cluster);
}

/* The subscribers of every hook (src/core/hooks.h), in the order they run. */
static void subscribe(server *s) {
    hs_hooks *h = &s->hooks;
    /* ingest: the scheduler last. It takes the event's body out of the
     * ingest and may send at once (a websocket destination broadcasts before
     * returning): the event is counted and shown on the live feed first. */
    hs_hooks_on_ingest(h, hs_metrics_on_ingest, s->metrics);
    hs_hooks_on_ingest(h, hs_live_on_ingest, s->ws);
    hs_hooks_on_ingest(h, hs_scheduler_on_ingest, s->sched);
    /* resource: the scheduler first. A deleted destination is marked removed
     * before the metrics forget its series, so an attempt still out counts
     * server-wide only and does not bring them back. */
    hs_hooks_on_resource(h, hs_scheduler_on_resource, s->sched);
    hs_hooks_on_resource(h, cluster_on_resource, s); /* after the scheduler: it knows the destination */
    hs_hooks_on_resource(h, hs_metrics_on_resource, s->metrics);
    /* the front door after them: it only reads the source's doc */
    hs_hooks_on_resource(h, hs_frontdoor_on_resource, s->frontdoor);
    hs_hooks_on_requeued(h, hs_scheduler_on_requeued, s->sched);
    /* attempts are counted as they are decided (an attempt visible in the
     * store is counted already), shown once committed */
    hs_hooks_on_attempt_decided(h, hs_metrics_on_attempt, s->metrics);
    hs_hooks_on_attempt_recorded(h, hs_live_on_attempt, s->ws);
    hs_hooks_on_attempt_recorded(h, hs_ops_on_attempt, s->ops); /* a dead letter opens or counts an issue */
    hs_hooks_on_circuit_reset(h, hs_live_on_circuit_reset, s->ws);
    /* refusals at the front door: counted, then shown */
    hs_hooks_on_refused(h, hs_metrics_on_refused, s->metrics);
    hs_hooks_on_refused(h, hs_live_on_refused, s->ws);
    /* a circuit opening or closing: in the log, then on the live feed */
    hs_hooks_on_circuit_changed(h, hs_failures_on_circuit, NULL);
    hs_hooks_on_circuit_changed(h, hs_live_on_circuit_changed, s->ws);
    hs_hooks_on_circuit_changed(h, hs_ops_on_circuit, s->ops); /* a circuit opening too */
    hs_scheduler_set_hooks(s->sched, h);
}

/* --threads, or one per core the process may use. */
static size_t threads_of(const hs_config *cfg) {
    size_t n = cfg->threads > 0 ? (size_t)cfg->threads : (size_t)uv_available_parallelism();
    return n < 1 ? 1 : n > HS_LOOPS_MAX ? HS_LOOPS_MAX : n;
}

/* The last of the loops: the other threads, the mailbox, then the loop
 * itself. */
static void close_loop(server *s) {
    if (s->loops) {
        hs_loops_stop(s->loops);
        hs_loops_free(s->loops);
        s->loops = NULL;
    }
    hs_mailbox_close(&s->mb, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_loop_close(s->loop);
}

static int serve(server *s) {
    hs_log_set_level((hs_log_level)s->cfg.log_level);
    hs_netguard_allow_private(s->cfg.allow_private_destinations); /* before any thread sends */
    /* Handlers block on the store in the threadpool: give it room. */
    if (!getenv("UV_THREADPOOL_SIZE")) setenv("UV_THREADPOOL_SIZE", "8", 1);
    signal(SIGPIPE, SIG_IGN);

    hs_error err;
    hs_error_clear(&err);
    /* a path that names no file yet: a new, empty database (a server
     * started in another directory would otherwise look empty, silently) */
    bool fresh = !db_is_url(s->cfg.db) && access(s->cfg.db, F_OK) != 0;
    hs_url_redact(s->cfg.db, s->db_shown, sizeof s->db_shown);
    if (hs_store_open(s->cfg.db, &s->store, &err)) {
        fprintf(stderr, "hookstream: cannot open database %s: %s\n", s->db_shown,
                err.msg[0] ? err.msg : hs_strerror(err.code));
        return 1;
    }
    if (fresh) {
        char *abs = realpath(s->cfg.db, NULL);
        /* stdout, as the listening line (stderr carries JSON log lines only) */
        printf("hookstream: created a new, empty database at %s (give --db the path of an existing one to keep "
               "its sources, destinations and events)\n",
               abs ? abs : s->cfg.db);
        hs_warn("created a new database at %s", abs ? abs : s->cfg.db);
        free(abs); /* realpath's, from libc */
    }
    if (open_secrets(s)) {
        hs_store_close(s->store);
        return 1;
    }
    hs_store_set_secretbox(s->store, &s->box, &hs_resource_secret_codec);
    char *created = NULL;
    if (hs_auth_init(s->store, s->cfg.api_key, &s->auth, &created, &err)) {
        fprintf(stderr, "hookstream: cannot load API keys: %s\n", err.msg);
        hs_store_close(s->store);
        return 1;
    }

    /* before any loop serves: ingest reads it from every loop */
    if (hs_frontdoor_new(s->store, s->cfg.trusted_proxies, s->cfg.ntrusted_proxies, &s->frontdoor, &err)) {
        fprintf(stderr, "hookstream: cannot load the sources' IP lists and rate limits: %s\n", err.msg);
        hs_free_secret(created);
        hs_auth_free(s->auth);
        hs_store_close(s->store);
        return 1;
    }

    s->loop = uv_default_loop();
    hs_mailbox_init(&s->mb, s->loop);
    hs_mailbox_set_current(&s->mb);
    if (hs_loops_new(s->loop, &s->mb, threads_of(&s->cfg), &s->loops, &err)) {
        fprintf(stderr, "hookstream: %s\n", err.msg);
        hs_free_secret(created);
        hs_auth_free(s->auth);
        hs_store_close(s->store);
        close_loop(s);
        return 1;
    }
    hs_scheduler_config sched_cfg = {.window = (size_t)s->cfg.delivery_window, .clustered = hs_store_shared(s->store)};
    if (hs_scheduler_new(s->loops, s->store, &sched_cfg, &s->sched, &err)) {
        fprintf(stderr, "hookstream: cannot load the destinations' queues: %s\n", err.msg);
        hs_free_secret(created);
        hs_scheduler_stop(s->sched, after_scheduler_stop, s);
        uv_run(s->loop, UV_RUN_DEFAULT);
        hs_scheduler_free(s->sched);
        hs_auth_free(s->auth);
        close_loop(s);
        return 1;
    }
    s->ws = hs_ws_hub_new(s->loop, &s->cfg.ws, hs_auth_ws, s->auth);
    hs_scheduler_set_local_env(s->sched, s->ws);
    s->metrics = hs_metrics_new();
    hs_ops_config ops_cfg = {.resolve_after_ms = s->cfg.issue_resolve_after_ms,
                             .alert_interval_ms = s->cfg.alert_interval_ms,
                             .smtp_url = s->cfg.smtp_url,
                             .smtp_from = s->cfg.smtp_from,
                             .notify_attempts = s->cfg.notification_retries + 1,
                             .retention_ms = s->cfg.retention_ms};
    s->ops = hs_ops_new(s->loop, s->store, &s->box, &ops_cfg);
    subscribe(s);
    hs_api_deps deps = {.loops = s->loops,
                        .store = s->store,
                        .auth = s->auth,
                        .sched = s->sched,
                        .ws = s->ws,
                        .metrics = s->metrics,
                        .hooks = &s->hooks,
                        .frontdoor = s->frontdoor,
                        .ops = s->ops,
                        .public_url = s->cfg.public_url};
    s->api = hs_api_new(&deps);

    hs_http_config *hc = &s->hc;
    hs_http_config_defaults(hc);
    hc->max_body = s->cfg.max_body;
    hc->request_timeout_ms = s->cfg.request_timeout_ms;
    hc->idle_timeout_ms = s->cfg.idle_timeout_ms;
    hc->shutdown_timeout_ms = s->cfg.shutdown_timeout_ms;
    int port = 0;
    int rc = hs_http_server_new(s->loop, hc, hs_api_handle, s->api, &s->http);
    const char *why = rc ? hs_strerror(rc) : NULL;
    if (rc == 0) {
        rc = hs_http_server_listen(s->http, s->cfg.listen_host, s->cfg.listen_port, &port);
        if (rc) why = uv_strerror(rc); /* listen reports libuv codes */
    }
    if (rc) {
        fprintf(stderr, "hookstream: cannot listen on %s:%d: %s\n", s->cfg.listen_host, s->cfg.listen_port, why);
        hs_free_secret(created);
        if (s->http) hs_http_server_free(s->http);
        hs_ws_hub_free(s->ws);
        hs_scheduler_stop(s->sched, after_scheduler_stop, s);
        uv_run(s->loop, UV_RUN_DEFAULT); /* close callbacks free the handles */
        hs_scheduler_free(s->sched);
        hs_api_free(s->api);
        hs_ops_free(s->ops);
        hs_metrics_free(s->metrics);
        hs_auth_free(s->auth);
        close_loop(s);
        return 1;
    }
    make_siblings(s);
    hs_scheduler_start(s->sched); /* deliveries go out from now on (with several nodes: once leased) */
    if (hs_store_shared(s->store) && start_cluster(s, port, &err)) {
        fprintf(stderr, "hookstream: %s\n", err.msg);
        raise(SIGTERM);
    }
    hs_ops_start(s->ops); /* after the cluster: the outbox's claims carry this node's id */
    /* with --retention off too: it forgets closed dedup keys */
    s->retention = hs_retention_start(s->loop, s->store, s->cfg.retention_ms);
    /* after the cluster: a job is claimed under this node's id */
    if (hs_replay_runner_start(s->loop, s->store, s->sched, hs_store_node_id(s->store), &s->replay, &err))
        hs_warn("replay jobs will not run: %s", err.msg);
    hs_api_set_replay(s->api, s->replay);
    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);

    const char *fmt = strchr(s->cfg.listen_host, ':') ? "http://[%s]:%d" : "http://%s:%d";
    char url[96];
    snprintf(url, sizeof url, fmt, s->cfg.listen_host, port);
    hs_logj(HS_LOG_INFO, json_pack("{s:s, s:s, s:s}", "url", url, "db", s->db_shown, "version", HS_VERSION), "ready");
    printf("hookstream listening on %s\n", url);
    printf("hookstream dashboard: %s/ (sign in with an API key)\n", url);
    if (created) {
        /* last, so that it is not lost among other output */
        printf("\nhookstream: created an API key; it is shown only this once, store it safely:\n\n    %s\n\n", created);
        hs_free_secret(created);
        created = NULL;
    }
    fflush(stdout);

    uv_run(s->loop, UV_RUN_DEFAULT);

    log_served(0, s->http);
    hs_http_server_free(s->http);
    free_siblings(s);
    hs_ws_hub_free(s->ws);
    uv_run(s->loop, UV_RUN_DEFAULT); /* let close callbacks run */
    release_thread_state(s->loop);
    hs_scheduler_free(s->sched);
    hs_cluster_free(s->cluster);
    hs_api_free(s->api);
    hs_ops_free(s->ops);
    hs_metrics_free(s->metrics);
    hs_auth_free(s->auth);
    close_loop(s);
    hs_info("stopped");
    return 0;
}

int main(int argc, char **argv) {
    hs_alloc_init_json();
    /* clients of a running server */
    if (argc >= 2 && strcmp(argv[1], "events") == 0) return hs_client_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "listen") == 0) return hs_listen_main(argc, argv);
    /* on the database, no server needed */
    if (argc >= 2 && strcmp(argv[1], "api-keys") == 0) return hs_apikeys_main(argc, argv);
    server s;
    memset(&s, 0, sizeof s);
    hs_command cmd;
    char err[512];
    if (hs_config_parse(argc, argv, &cmd, &s.cfg, err, sizeof err)) {
        fprintf(stderr, "hookstream: %s\n", err);
        hs_config_free(&s.cfg);
        return 2;
    }
    int rc = 0;
    switch (cmd) {
    case HS_CMD_HELP: fputs(hs_usage_main, stdout); break;
    case HS_CMD_SERVE_HELP: fputs(hs_usage_serve, stdout); break;
    case HS_CMD_VERSION: printf("hookstream %s\n", HS_VERSION); break;
    case HS_CMD_SERVE:
        rc = serve(&s);
        hs_frontdoor_free(s.frontdoor); /* every loop has stopped */
        break;
    case HS_CMD_ROTATE_KEY_HELP: fputs(hs_usage_rotate_key, stdout); break;
    case HS_CMD_ROTATE_KEY: rc = rotate_key(&s.cfg); break;
    }
    hs_secretbox_wipe(&s.box);
    hs_config_free(&s.cfg);
    return rc;
}
