/* lib/jsonata/api.c — the public JSONata entry points: compile, evaluate with
 * limits (one arena per evaluation, freed on every exit path), free. */
#include <stdio.h>
#include <string.h>

#include "jsonata/jsonata_int.h"

#define EXPR_MAX (64 * 1024)
#define MAX_DEPTH_CAP 2000

struct hs_jsonata {
    jarena arena;
    jnode *root;
};

/* ---- public API ---- */
void hs_jsonata_limits_default(hs_jsonata_limits *l) {
    l->max_ms = 100;
    l->max_memory = 16u * 1024 * 1024;
    l->max_depth = 200;
}

int hs_jsonata_compile(const char *expr, hs_jsonata **out, hs_jsonata_error *err) {
    hs_jsonata_error dummy;
    if (!err) err = &dummy;
    memset(err, 0, sizeof *err);
    err->position = -1;
    *out = NULL;
    if (!expr || strlen(expr) > EXPR_MAX) {
        snprintf(err->code, sizeof err->code, "S0100");
        snprintf(err->message, sizeof err->message, "Expression missing or longer than %d bytes", EXPR_MAX);
        return HS_JSONATA_EINVAL;
    }
    hs_jsonata *j = jx_sys_alloc(sizeof *j);
    jparse_err pe = {{0}, -1, {0}};
    j->root = jx_parse(&j->arena, expr, &pe);
    if (!j->root) {
        snprintf(err->code, sizeof err->code, "%s", pe.code);
        err->position = pe.pos;
        snprintf(err->message, sizeof err->message, "%s", pe.msg);
        ja_free_all(&j->arena);
        jx_sys_free(j);
        return HS_JSONATA_EINVAL;
    }
    *out = j;
    return HS_JSONATA_OK;
}

void hs_jsonata_free(hs_jsonata *j) {
    if (!j) return;
    ja_free_all(&j->arena);
    jx_sys_free(j);
}

int hs_jsonata_eval(const hs_jsonata *j, const json_t *input, const json_t *bindings, const hs_jsonata_limits *lim,
                    json_t **out, hs_jsonata_error *err) {
    hs_jsonata_error dummy;
    if (!err) err = &dummy;
    memset(err, 0, sizeof *err);
    err->position = -1;
    *out = NULL;
    hs_jsonata_limits dl;
    if (!lim) {
        hs_jsonata_limits_default(&dl);
        lim = &dl;
    }
    jctx *c = jx_sys_alloc(sizeof *c);
    c->err = err;
    c->arena.ctx = c;
    c->arena.limit = lim->max_memory;
    /* the C stack bounds how deep evaluation may go, whatever the caller asks */
    c->max_depth = lim->max_depth > 0 ? lim->max_depth : 200;
    if (c->max_depth > MAX_DEPTH_CAP) c->max_depth = MAX_DEPTH_CAP;
    c->deadline_ns = lim->max_ms ? jx_clock_ns() + lim->max_ms * 1000000ull : 0;
    c->now_ms = jx_wall_ms();
    if (setjmp(c->jb)) {
        int rc = c->rc;
        ja_free_all(&c->arena);
        jx_sys_free(c);
        return rc;
    }
    c->root = jv_from_json(c, input);
    c->global = jx_env_new(c, NULL);
    if (bindings && json_is_object(bindings)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)bindings, k, x) {
            jx_env_bind(c, c->global, ja_strndup(&c->arena, k, strlen(k)), jv_from_json(c, x));
        }
    }
    jv *in = c->root;
    if (in && in->t == JV_ARR) {
        /* the outer wrapper: a top-level array is one value to paths */
        in = jv_seq(c);
        jv_push(c, in, c->root);
        in->u.a.outer = 1;
    }
    jv *r = jx_eval(c, j->root, in, c->global);
    *out = jv_to_json(r);
    ja_free_all(&c->arena);
    jx_sys_free(c);
    return HS_JSONATA_OK;
}
