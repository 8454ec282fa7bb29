#include "gate/gate.h"

#include <string.h>

void
gate_result_free (struct pg_gate_result *r)
{
  free (r->container_id);
  identity_free (&r->identity);
  pg_decision_free (&r->decision);
  index_close (r->index);
  memset (r, 0, sizeof (*r));
}

void
gate_context_init (const struct pg_hook_config *cfg, struct pg_context *ctx)
{
  memset (ctx, 0, sizeof (*ctx));
  ctx->max_policy_age = cfg ? cfg->max_policy_age : 0;
  ctx->policy_stale = cfg ? cfg->policy_stale : PG_VERDICT_DENY;
}

void
cleanup_gate_resultp (struct pg_gate_result *r)
{
  gate_result_free (r);
}

int
gate_identify (const struct pg_hook_config *cfg, const char *state_text, size_t len, const char *state_name,
               struct pg_gate_result *res, pg_error_t *err)
{
  struct pg_oci_state st;
  int r, ret = -1;

  memset (res, 0, sizeof (*res));
  gate_context_init (cfg, &res->ctx);
  r = oci_state_parse (state_text, len, state_name, &st, err);
  if (st.id)
    {
      res->container_id = xstrdup (st.id);
      res->ctx.container_id = res->container_id;
    }
  if (r < 0)
    goto out;
  {
    enum pg_engine engine;
    /* A wiring that names no known engine is the host's fault.  */
    if (pg_engine_parse (cfg->engine, &engine, err) < 0)
      {
        res->host_fault = true;
        goto out;
      }
  }
  if (resolve_identity (cfg, &st, &res->identity, err) < 0)
    goto out;
  res->ctx.digest = res->identity.digest;
  res->ctx.image_ref = res->identity.image_ref;
  res->ctx.namespace = res->identity.namespace;
  res->ctx.engine = res->identity.engine;
  res->ctx.conflict = res->identity.conflict;
  ret = 0;
out:
  oci_state_free (&st);
  return ret;
}

int
gate_open_index (const struct pg_hook_config *cfg, struct pg_gate_result *res, pg_error_t *err)
{
  struct pg_index_open_opts o = { .db_path = cfg->policy_db, .max_lag = cfg->index_max_lag };
  return index_open (cfg->policy_index, &o, &res->index, err);
}

int
gate_prepare (const struct pg_hook_config *cfg, const char *state_text, size_t len, const char *state_name,
              struct pg_gate_result *res, pg_error_t *err)
{
  if (gate_identify (cfg, state_text, len, state_name, res, err) < 0)
    return -1;
  return gate_open_index (cfg, res, err);
}

int
gate_decide_in (pg_index *idx, struct pg_gate_result *res, int64_t now, pg_error_t *err)
{
  return index_decide (idx, &res->ctx, now, &res->decision, err);
}

int
gate_decide_prepared (struct pg_gate_result *res, int64_t now, pg_error_t *err)
{
  return gate_decide_in (res->index, res, now, err);
}

int
gate_decide (const struct pg_hook_config *cfg, const char *state_text, size_t len, const char *state_name,
             int64_t now, struct pg_gate_result *res, pg_error_t *err)
{
  if (gate_prepare (cfg, state_text, len, state_name, res, err) < 0)
    return -1;
  return gate_decide_prepared (res, now, err);
}
