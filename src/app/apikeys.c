/* src/app/apikeys.c — `hookstream api-keys create|list|revoke`: manage the
 * API keys in the database itself, no server needed (--db: a SQLite file
 * or a postgresql:// URL, as `serve` takes).
 *
 * A server running on the same SQLite database learns of a key created or
 * revoked here within HS_AUTH_SYNC_MS, when it next reads its key set
 * (src/api/auth.h); the API's DELETE takes effect at once on the server
 * that answers it. A PostgreSQL database is claimed by its one server
 * (src/store/pg/pg.c): while it runs, the store refuses to open here and
 * the message points to the API. Keys are not secrets at rest (only their SHA-256 is
 * stored), so no secret key is needed here.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/auth.h"
#include "app/client.h"
#include "base/alloc.h"
#include "base/timeutil.h"
#include "base/url.h"
#include "store/store.h"

const char hs_usage_apikeys[] = "Usage: hookstream api-keys COMMAND [options]\n"
                                "\n"
                                "Manage the API keys stored in the database, with or without a server\n"
                                "running on it.\n"
                                "\n"
                                "Commands:\n"
                                "  create --name NAME      a new key; the key is printed once, only its\n"
                                "                          SHA-256 is stored\n"
                                "  list                    the keys not revoked: id, prefix, name, created,\n"
                                "                          last used\n"
                                "  revoke ID               revoke a key (a server on a SQLite file refuses it\n"
                                "                          within 30 s, servers on PostgreSQL at once;\n"
                                "                          DELETE /v1/auth/api-keys/ID does at once)\n"
                                "\n"

                                "Options:\n"
                                "  --db PATH|URL           the database, a SQLite file or a postgresql:// URL\n"
                                "                          [HOOKSTREAM_DB, default ./hookstream.db]\n"
                                "  --json                  JSON output (create: the key object; list: one\n"
                                "                          object per line)\n";

typedef struct opts {
    const char *cmd, *db, *name, *id;
    bool json;
} opts;

static int parse(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->db = hs__env_or("HOOKSTREAM_DB", "./hookstream.db");
    if (argc < 3 || strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) return argc < 3 ? 2 : 1;
    o->cmd = argv[2];
    if (strcmp(o->cmd, "create") && strcmp(o->cmd, "list") && strcmp(o->cmd, "revoke")) {
        fprintf(stderr, "hookstream: unknown api-keys command \"%s\" (try `hookstream api-keys --help`)\n", o->cmd);
        return 2;
    }
    for (int a = 3; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return 1;
        if (strcmp(arg, "--json") == 0) {
            o->json = true;
        } else if (strcmp(arg, "--db") == 0 || strcmp(arg, "--name") == 0) {
            if (a + 1 >= argc || !*argv[a + 1]) {
                fprintf(stderr, "hookstream: %s needs a value\n", arg);
                return 2;
            }
            *(arg[2] == 'd' ? &o->db : &o->name) = argv[++a];
        } else if (strcmp(o->cmd, "revoke") == 0 && !o->id && arg[0] != '-') {
            o->id = arg;
        } else {
            fprintf(stderr, "hookstream: unexpected argument \"%s\" (try `hookstream api-keys --help`)\n", arg);
            return 2;
        }
    }
    if (strcmp(o->cmd, "create") == 0 && (!o->name || !*o->name)) {
        fprintf(stderr, "hookstream: api-keys create needs --name NAME\n");
        return 2;
    }
    if (strcmp(o->cmd, "revoke") == 0 && !o->id) {
        fprintf(stderr, "hookstream: api-keys revoke needs the key's id (see `hookstream api-keys list`)\n");
        return 2;
    }
    return 0;
}

static json_t *key_json(const hs_apikey *k, const char *key) {
    char created[HS_ISO8601_MAX], used[HS_ISO8601_MAX];
    hs_iso8601(k->created_at, created);
    hs_iso8601(k->last_used_at, used);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s}", "id", k->id, "name", k->name, "prefix", k->prefix, "created_at", created);
    json_object_set_new(o, "last_used_at", k->last_used_at ? json_string(used) : json_null());
    if (key) json_object_set_new(o, "key", json_string(key));
    return o;
}

static void print_json(json_t *o) {
    char *text = json_dumps(o, JSON_COMPACT);
    printf("%s\n", text ? text : "{}");
    hs_free(text); /* jansson allocates through hs_malloc (hs_alloc_init_json) */
    json_decref(o);
}

static int run(const opts *o, hs_store *s, hs_error *err) {
    if (strcmp(o->cmd, "create") == 0) {
        hs_apikey k;
        char *key = NULL;
        int rc = hs_auth_create(s, NULL, o->name, &k, &key, err);
        if (rc) return rc;
        if (o->json) {
            print_json(key_json(&k, key));
        } else {
            printf("created API key %s (%s); it is shown only this once, store it safely:\n\n    %s\n\n", k.id, k.name,
                   key);
        }
        hs_free_secret(key);
        return HS_OK;
    }
    if (strcmp(o->cmd, "revoke") == 0) {
        int rc = hs_auth_revoke(s, NULL, o->id, NULL, err);
        if (rc == HS_OK && !o->json) printf("revoked API key %s\n", o->id);
        if (rc == HS_OK && o->json) print_json(json_pack("{s:s, s:b}", "id", o->id, "deleted", 1));
        return rc;
    }
    hs_apikey *keys;
    size_t n;
    int rc = hs_store_apikey_list(s, &keys, &n, err);
    if (rc) return rc;
    if (!o->json) printf("%-36s  %-13s  %-24s  %-20s  %s\n", "ID", "PREFIX", "NAME", "CREATED", "LAST USED");
    for (size_t i = 0; i < n; i++) {
        if (o->json) {
            print_json(key_json(&keys[i], NULL));
            continue;
        }
        char created[HS_ISO8601_MAX], used[HS_ISO8601_MAX];
        hs_iso8601(keys[i].created_at, created);
        hs_iso8601(keys[i].last_used_at, used);
        created[19] = used[19] = '\0'; /* to the second */
        printf("%-36s  %-13s  %-24s  %-20s  %s\n", keys[i].id, keys[i].prefix[0] ? keys[i].prefix : "-", keys[i].name,
               created, keys[i].last_used_at ? used : "never");
    }
    hs_free(keys);
    return HS_OK;
}

int hs_apikeys_main(int argc, char **argv) {
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc == 1) {
        fputs(hs_usage_apikeys, stdout);
        return 0;
    }
    if (rc) {
        if (argc < 3) fputs(hs_usage_apikeys, stderr);
        return 2;
    }
    char shown[512];
    hs_url_redact(o.db, shown, sizeof shown);
    if (!strstr(o.db, "://") && access(o.db, F_OK) != 0) {
        fprintf(stderr, "hookstream: no database at %s (give --db)\n", shown);
        return 1;
    }
    hs_error err;
    hs_error_clear(&err);
    hs_store *s = NULL;
    if (hs_store_open(o.db, &s, &err)) {
        fprintf(stderr, "hookstream: cannot open database %s: %s\n", shown,
                err.msg[0] ? err.msg : hs_strerror(err.code));
        return 1;
    }
    rc = run(&o, s, &err);
    hs_store_close(s);
    if (rc) {
        fprintf(stderr, "hookstream: api-keys %s: %s\n", o.cmd, err.msg[0] ? err.msg : hs_strerror(rc));
        return 1;
    }
    return 0;
}
