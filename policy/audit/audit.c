/* Each running container decided again through the hook's gate.  The one
 * thing the hook is told that a state root does not say is its wiring's
 * --engine: a containerd root is the base spec's (containerd), Docker's is
 * the runtime wrapper's (docker), and runc's and crun's own roots are whoever
 * can prove the bundle theirs from their own records (podman and CRI-O,
 * through containers/storage), else a bare runtime's: the hook without
 * --engine decides exactly so (identify/resolve.c).
 */
#include "audit/audit.h"
#include "report/report.h"
#include "base/clock.h"
#include "base/json.h"

#include <string.h>

void
pg_audit_free (struct pg_audit *a)
{
  for (size_t i = 0; i < a->n_rows; i++)
    {
      pg_runtime_container_free (&a->rows[i].c);
      free (a->rows[i].error);
      gate_result_free (&a->rows[i].res);
    }
  free (a->rows);
  memset (a, 0, sizeof (*a));
}

static void
row_error (struct pg_audit_row *row, enum pg_audit_outcome outcome, const char *msg)
{
  row->outcome = outcome;
  row->error = xstrdup (msg ? msg : "unknown error");
}

static void
decide_row (const struct pg_hook_config *cfg, pg_index *idx, int64_t now, struct pg_audit_row *row)
{
  struct pg_hook_config wired = *cfg;
  cleanup_free char *text = NULL;
  cleanup_free char *name = NULL;
  pg_error_t err = NULL;

  if (row->c.error)
    {
      row_error (row, PG_AUDIT_ERROR, row->c.error);
      return;
    }
  /* The state the runtime hands its hooks (runtime-spec, "State"), with
     the annotations it copied from config.json: read from the bundle as
     it is now, with the hook's bounds; a bundle the hook could not read is
     the container's input, and refused.  */
  if (oci_state_for_bundle (row->c.id, row->c.bundle, pg_run_status_name (row->c.status), row->c.pid, &text,
                            &err)
      < 0)
    {
      row_error (row, PG_AUDIT_INPUT_ERROR, err ? err->msg : NULL);
      pg_error_release (&err);
      return;
    }
  xasprintf (&name, "OCI state of %s", row->c.dir);
  /* A copy of the config that differs in the wiring alone; it owns nothing.  */
  wired.engine = (char *) row->c.engine;
  if (gate_identify (&wired, text, strlen (text), name, &row->res, &err) < 0)
    {
      row_error (row, row->res.host_fault ? PG_AUDIT_ERROR : PG_AUDIT_INPUT_ERROR, err ? err->msg : NULL);
      pg_error_release (&err);
      return;
    }
  if (gate_decide_in (idx, &row->res, now, &err) < 0)
    {
      row_error (row, PG_AUDIT_ERROR, err ? err->msg : NULL);
      pg_error_release (&err);
      return;
    }
  row->outcome = PG_AUDIT_DECIDED;
}

int
pg_audit_run (const struct pg_hook_config *cfg, const struct pg_audit_options *o, struct pg_audit *out,
              pg_error_t *err)
{
  cleanup_runtime_list struct pg_runtime_list list = { 0 };
  struct pg_gate_result shared = { 0 };
  const struct pg_state_root *roots = o->roots ? o->roots : pg_default_state_roots;
  size_t n_roots = o->roots ? o->n_roots : pg_n_default_state_roots;

  memset (out, 0, sizeof (*out));
  if (pg_runtime_list (roots, n_roots, o->proc, false, &list, err) < 0)
    return -1;
  /* One index for every decision, opened as the hook opens it; a host
     whose index the hook cannot open refuses every start, which is no
     audit of any container.  */
  if (gate_open_index (cfg, &shared, err) < 0)
    {
      gate_result_free (&shared);
      return -1;
    }
  out->rows = xmalloc0 ((list.n ? list.n : 1) * sizeof (*out->rows));
  for (size_t i = 0; i < list.n; i++)
    {
      struct pg_audit_row *row = &out->rows[out->n_rows++];
      row->c = list.v[i];
      memset (&list.v[i], 0, sizeof (list.v[i]));
      decide_row (cfg, shared.index, o->now, row);
      /* A container that stopped meanwhile takes its bundle along (podman
         --rm, containerd): its input failing then says nothing of it.  */
      if (row->outcome == PG_AUDIT_INPUT_ERROR && pg_process_is (o->proc, row->c.pid, row->c.start_time) != 1)
        {
          pg_runtime_container_free (&row->c);
          free (row->error);
          gate_result_free (&row->res);
          memset (row, 0, sizeof (*row));
          out->n_rows--;
        }
    }
  gate_result_free (&shared);
  return 0;
}

const char *
pg_audit_row_engine (const struct pg_audit_row *r)
{
  if (r->res.ctx.engine)
    return r->res.ctx.engine;
  /* Not identified that far: the wiring's, as the hook's error line says.  */
  return r->c.engine ? r->c.engine : "runc";
}

const char *
pg_audit_row_image (const struct pg_audit_row *r)
{
  if (r->res.ctx.image_ref)
    return r->res.ctx.image_ref;
  if (r->outcome == PG_AUDIT_DECIDED && r->res.decision.image_name)
    return r->res.decision.image_name;
  return r->res.ctx.digest;
}

const char *
pg_audit_row_decision (const struct pg_audit_row *r)
{
  return r->outcome == PG_AUDIT_DECIDED ? verdict_name (r->res.decision.verdict) : "error";
}

bool
pg_audit_row_refused (const struct pg_audit_row *r)
{
  if (r->outcome == PG_AUDIT_INPUT_ERROR)
    return true;
  return r->outcome == PG_AUDIT_DECIDED && r->res.decision.verdict == PG_VERDICT_DENY;
}

/* S as a JSON string, or null; bytes that are not UTF-8 (a directory
   name may hold any) become '?'.  */
static json_t *
jstr (const char *s)
{
  json_t *j;
  char *copy;

  if (s == NULL)
    return json_null ();
  j = json_string (s);
  if (j)
    return j;
  copy = xstrdup (s);
  for (char *p = copy; *p; p++)
    if ((unsigned char) *p >= 0x80)
      *p = '?';
  j = json_string (copy);
  free (copy);
  return j ? j : json_null ();
}

static json_t *
reason_codes (const struct pg_audit_row *r)
{
  json_t *a = json_array ();

  if (r->outcome == PG_AUDIT_INPUT_ERROR)
    json_array_append_new (a, json_string ("INVALID_INPUT"));
  else if (r->outcome == PG_AUDIT_DECIDED)
    for (size_t i = 0; i < r->res.decision.n_reasons; i++)
      json_array_append_new (a, jstr (r->res.decision.reasons[i].code));
  return a;
}

json_t *
pg_audit_row_json (const struct pg_audit_row *r)
{
  json_t *j = json_object ();
  char since[64];

  json_object_set_new (j, "container", jstr (r->c.id));
  json_object_set_new (j, "engine", jstr (pg_audit_row_engine (r)));
  json_object_set_new (j, "image", jstr (pg_audit_row_image (r)));
  json_object_set_new (j, "digest", jstr (r->res.ctx.digest));
  json_object_set_new (j, "decision", jstr (pg_audit_row_decision (r)));
  json_object_set_new (j, "refused", json_boolean (pg_audit_row_refused (r)));
  json_object_set_new (j, "reasons", reason_codes (r));
  if (r->c.created >= 0)
    {
      format_rfc3339 (r->c.created, since, sizeof (since));
      json_object_set_new (j, "running_since", jstr (since));
    }
  else
    json_object_set_new (j, "running_since", json_null ());
  json_object_set_new (j, "status", jstr (r->c.error ? NULL : pg_run_status_name (r->c.status)));
  json_object_set_new (j, "pid", r->c.pid > 0 ? json_integer (r->c.pid) : json_null ());
  json_object_set_new (j, "runtime", jstr (r->c.format));
  json_object_set_new (j, "state", jstr (r->c.dir));
  json_object_set_new (j, "bundle", jstr (r->c.bundle));
  if (r->c.namespace)
    json_object_set_new (j, "containerd_namespace", jstr (r->c.namespace));
  json_object_set_new (j, "error", jstr (r->error));
  {
    json_t *check = r->outcome == PG_AUDIT_DECIDED ? report_json (&r->res.decision, &r->res.ctx) : NULL;
    json_object_set_new (j, "check", check ? check : json_null ());
  }
  return j;
}
