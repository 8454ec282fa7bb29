/* patchgate: a decision and its reasons.  */
#include "rules/decision.h"

#include <string.h>

void
pg_decision_free (struct pg_decision *d)
{
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->n_reasons; i++)
    {
      free (d->reasons[i].code);
      free (d->reasons[i].detail);
      free (d->reasons[i].remedy);
      free (d->reasons[i].log_fields);
    }
  free (d->reasons);
  free (d->scope);
  free (d->policy_version);
  strv_free (d->waivers_applied, d->n_waivers_applied);
  strv_free (d->waivers_expired, d->n_waivers_expired);
  strv_free (d->notes, d->n_notes);
  free (d->image_id);
  free (d->image_name);
  free (d->log_fields);
  memset (d, 0, sizeof (*d));
}

void
cleanup_decisionp (struct pg_decision *d)
{
  pg_decision_free (d);
}

struct pg_reason *
decision_add_reason (struct pg_decision *d, const char *code, bool deny)
{
  struct pg_reason *r;
  d->reasons = xrealloc (d->reasons, (d->n_reasons + 1) * sizeof (*d->reasons));
  r = &d->reasons[d->n_reasons++];
  memset (r, 0, sizeof (*r));
  r->code = xstrdup (code);
  r->deny = deny;
  return r;
}

void
decision_add_note (struct pg_decision *d, const char *note)
{
  strv_append (&d->notes, &d->n_notes, note);
}

void
decision_add_log_fields (struct pg_decision *d, const char *fields)
{
  char *n = NULL;
  xasprintf (&n, "%s%s%s", d->log_fields ? d->log_fields : "", d->log_fields ? " " : "", fields);
  free (d->log_fields);
  d->log_fields = n;
}

void
decision_settle_verdict (struct pg_decision *d)
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

void
pg_eval_facts_free (struct pg_eval_facts *x)
{
  free (x->newer_digest);
  free (x->newer_name);
  for (size_t i = 0; i < x->n_bases; i++)
    {
      free (x->bases[i].digest);
      strv_free (x->bases[i].diff_ids, x->bases[i].n_diff_ids);
    }
  free (x->bases);
  memset (x, 0, sizeof (*x));
}
