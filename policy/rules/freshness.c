/* patchgate: how old the active policy is.
 *
 * A database activated from a bundle carries meta.bundle_created, the time
 * the admin built the bundle.  When the hook config sets max_policy_age and
 * the bundle is older, every decision gets reason POLICY_STALE with the
 * configured action (policy_stale: deny, audit or allow; allow only logs).
 * A database built locally (patchgate import / policy set) has no
 * bundle_created, and max_policy_age does not apply to it.
 */
#include "bundle/bundle.h"
#include "rules/eval.h"
#include "base/clock.h"

#include <errno.h>
#include <string.h>

static int
parse_int64 (const char *s, int64_t *out)
{
  char *end = NULL;
  long long v;
  if (s == NULL || *s == '\0')
    return -1;
  errno = 0;
  v = strtoll (s, &end, 10);
  if (errno || *end != '\0')
    return -1;
  *out = v;
  return 0;
}

int
pg_meta_int (sqlite3 *db, const char *name, const char *key, int64_t *out, pg_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int r, ret = 0;

  if (sqlite3_prepare_v2 (db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
    return pg_make_error (err, 0, "%s: reading meta.%s: %s", name, key, sqlite3_errmsg (db));
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  r = sqlite3_step (st);
  if (r == SQLITE_ROW)
    {
      if (parse_int64 ((const char *) sqlite3_column_text (st, 0), out) < 0)
        ret = pg_make_error (err, 0, "%s: meta.%s is not an integer", name, key);
      else
        ret = 1;
    }
  else if (r != SQLITE_DONE)
    ret = pg_make_error (err, 0, "%s: reading meta.%s: %s", name, key, sqlite3_errmsg (db));
  sqlite3_finalize (st);
  return ret;
}

int
store_meta_int (pg_store *store, const char *key, int64_t *out, pg_error_t *err)
{
  return pg_meta_int (store_db (store), store_path (store), key, out, err);
}

static void
recompute_verdict (struct pg_decision *d)
{
  bool deny = false;
  if (d->mode == PG_MODE_OFF || d->n_reasons == 0)
    {
      d->verdict = PG_VERDICT_ALLOW;
      return;
    }
  for (size_t i = 0; i < d->n_reasons; i++)
    deny |= d->reasons[i].deny;
  d->verdict = (deny && d->mode == PG_MODE_ENFORCE) ? PG_VERDICT_DENY : PG_VERDICT_AUDIT;
}

static void
add_stale_reason (struct pg_decision *d, bool deny, const char *detail, const char *log_fields)
{
  struct pg_reason *r;
  d->reasons = xrealloc (d->reasons, (d->n_reasons + 1) * sizeof (*d->reasons));
  r = &d->reasons[d->n_reasons++];
  memset (r, 0, sizeof (*r));
  r->code = xstrdup ("POLICY_STALE");
  r->deny = deny;
  r->detail = xstrdup (detail);
  r->remedy = xstrdup ("run `patchgate sync` (check patchgate-sync.timer and the bundle server) "
                       "or activate a newer bundle");
  r->log_fields = xstrdup (log_fields);
}

int
policy_freshness_check (pg_store *store, const struct pg_context *ctx, int64_t now, struct pg_decision *d,
                        pg_error_t *err)
{
  int64_t created = 0, serial = 0, age;
  cleanup_free char *detail = NULL;
  char *fields = NULL;
  char agebuf[32], maxbuf[32], createdbuf[32], serialbuf[32];
  int r;

  if (ctx->max_policy_age <= 0)
    return 0;
  r = store_meta_int (store, "bundle_created", &created, err);
  if (r <= 0)
    return r;
  age = now - created;
  if (age <= ctx->max_policy_age)
    return 0;
  if (store_meta_int (store, "bundle_serial", &serial, err) < 0)
    return -1;
  format_duration (age, agebuf, sizeof (agebuf));
  format_duration (ctx->max_policy_age, maxbuf, sizeof (maxbuf));
  format_rfc3339 (created, createdbuf, sizeof (createdbuf));
  snprintf (serialbuf, sizeof (serialbuf), "%lld", (long long) serial);
  xasprintf (&detail,
             "the policy bundle (serial %lld, created %s) is %s old; the hook config allows %s "
             "(max_policy_age)",
             (long long) serial, createdbuf, agebuf, maxbuf);
  logfmt_append (&fields, "policy_stale", verdict_name (ctx->policy_stale));
  logfmt_append (&fields, "policy_created", createdbuf);
  logfmt_append (&fields, "policy_serial", serialbuf);
  if (ctx->policy_stale == PG_VERDICT_ALLOW)
    {
      /* No reason, but the decision line says so.  */
      char *n = NULL;
      xasprintf (&n, "%s%s%s", d->log_fields ? d->log_fields : "", d->log_fields ? " " : "", fields);
      free (d->log_fields);
      d->log_fields = n;
      free (fields);
      return 0;
    }
  add_stale_reason (d, ctx->policy_stale == PG_VERDICT_DENY, detail, fields);
  free (fields);
  recompute_verdict (d);
  return 0;
}
