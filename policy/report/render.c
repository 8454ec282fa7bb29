/* patchgate: rendering a decision: the syslog line, stderr, JSON.  */
#include "report/report.h"
#include "base/json.h"
#include "base/logfmt.h"

#include <string.h>

/* Bounds of the fields that come first, so that they always fit.  */
#define REASONS_MAX 512
#define ID_MAX 160

static char *
reason_codes (const struct pg_decision *d)
{
  char *codes = xstrdup ("");
  for (size_t i = 0; i < d->n_reasons; i++)
    {
      char *n = NULL;
      xasprintf (&n, "%s%s%s", codes, i ? "," : "", d->reasons[i].code);
      free (codes);
      codes = n;
    }
  return codes;
}

/* The fields known of the container, in the fixed order: container first;
   digest, reasons and the rest follow from the caller.  */
static void
append_head (char **line, const char *verdict, const struct pg_context *ctx, const char *digest,
             const char *reasons)
{
  logfmt_append (line, "decision", verdict);
  logfmt_append_max (line, "container", ctx && ctx->container_id ? ctx->container_id : "", ID_MAX);
  logfmt_append_max (line, "digest", digest ? digest : "", ID_MAX);
  logfmt_append_max (line, "reasons", reasons, REASONS_MAX);
  logfmt_append_max (line, "engine", ctx && ctx->engine ? ctx->engine : "runc", ID_MAX);
}

/* Append TAIL (logfmt fields) to LINE while the line stays within
   PG_LOG_LINE_MAX; count what does not fit.  */
static void
append_bounded (char **line, const char *tail, size_t *dropped)
{
  size_t len = strlen (*line), tlen;
  char *n;

  if (tail == NULL || *tail == '\0')
    return;
  tlen = strlen (tail);
  if (*dropped || len + 1 + tlen > PG_LOG_LINE_MAX - 32)
    {
      (*dropped)++;
      return;
    }
  n = xrealloc (*line, len + tlen + 2);
  n[len] = ' ';
  memcpy (n + len + 1, tail, tlen + 1);
  *line = n;
}

static void
append_field (char **line, const char *key, const char *value, size_t *dropped)
{
  cleanup_free char *f = NULL;
  logfmt_append_max (&f, key, value, PG_LOG_VALUE_MAX);
  append_bounded (line, f, dropped);
}

char *
report_logfmt (const struct pg_decision *d, const struct pg_context *ctx)
{
  cleanup_free char *codes = reason_codes (d);
  const char *digest = ctx->digest ? ctx->digest : d->image_id;
  const char *image = ctx->image_ref ? ctx->image_ref : (d->image_name ? d->image_name : "");
  char *line = NULL;
  size_t dropped = 0;

  append_head (&line, verdict_name (d->verdict), ctx, digest, codes);
  logfmt_append_max (&line, "scope", d->scope ? d->scope : "defaults", ID_MAX);
  logfmt_append_max (&line, "policy", d->policy_version ? d->policy_version : "", ID_MAX);
  logfmt_append (&line, "mode", mode_name (d->mode));
  append_field (&line, "image", image, &dropped);
  if (ctx->namespace)
    append_field (&line, "namespace", ctx->namespace, &dropped);
  if (ctx->conflict)
    append_field (&line, "conflict", ctx->conflict, &dropped);
  for (size_t i = 0; i < d->n_reasons; i++)
    append_bounded (&line, d->reasons[i].log_fields, &dropped);
  for (size_t i = 0; i < d->n_waivers_applied; i++)
    append_field (&line, "waiver", d->waivers_applied[i], &dropped);
  for (size_t i = 0; i < d->n_waivers_expired; i++)
    append_field (&line, "waiver_expired", d->waivers_expired[i], &dropped);
  append_bounded (&line, d->log_fields, &dropped);
  if (ctx->test_clock)
    append_field (&line, "test_clock", ctx->test_clock, &dropped);
  if (dropped)
    {
      char n[32];
      snprintf (n, sizeof (n), "%zu", dropped);
      logfmt_append (&line, "fields_dropped", n);
    }
  return line;
}

char *
report_error_logfmt (const struct pg_context *ctx, const char *code, bool allowed, const char *msg)
{
  char *line = NULL;
  size_t dropped = 0;

  append_head (&line, allowed ? "allow" : "deny", ctx, ctx ? ctx->digest : NULL, code);
  if (ctx && ctx->image_ref)
    append_field (&line, "image", ctx->image_ref, &dropped);
  if (ctx && ctx->namespace)
    append_field (&line, "namespace", ctx->namespace, &dropped);
  if (ctx && ctx->conflict)
    append_field (&line, "conflict", ctx->conflict, &dropped);
  append_field (&line, "on_error", allowed ? "allow" : "deny", &dropped);
  /* The error last, cut to what is left, so the line always says why.  */
  {
    size_t room = PG_LOG_LINE_MAX - 32 - strlen (line);
    logfmt_append_max (&line, "error", msg, room > 64 ? room - 16 : 48);
  }
  return line;
}

char *
report_summary (const struct pg_decision *d, const struct pg_context *ctx)
{
  char *s = NULL;

  if (d->n_reasons == 0)
    {
      xasprintf (&s, "%s", verdict_name (d->verdict));
      return s;
    }
  xasprintf (&s, "%s: %s", d->reasons[0].detail, d->reasons[0].remedy);
  for (size_t i = 1; i < d->n_reasons; i++)
    {
      char *n = NULL;
      xasprintf (&n, "%s%s%s", s, i == 1 ? " (also: " : ", ", d->reasons[i].code);
      free (s);
      s = n;
    }
  if (d->n_reasons > 1)
    {
      char *n = NULL;
      xasprintf (&n, "%s)", s);
      free (s);
      s = n;
    }
  return s;
}

char *
report_stderr_refusal (const struct pg_decision *d, const struct pg_context *ctx)
{
  cleanup_free char *why = report_summary (d, ctx);
  cleanup_free char *id = logfmt_escape (ctx->container_id ? ctx->container_id : "?", ID_MAX);
  cleanup_free char *text = logfmt_escape (why, PG_LOG_LINE_MAX);
  cleanup_free char *conflict = ctx->conflict ? logfmt_escape (ctx->conflict, PG_LOG_VALUE_MAX) : NULL;
  char *out = NULL;

  xasprintf (&out, "patchgate: refused container %s: %s%s%s%s\n", id, text,
             conflict ? " (the engine's sources disagree: " : "", conflict ? conflict : "",
             conflict ? ")" : "");
  return out;
}

char *
report_stderr_error (const struct pg_context *ctx, const char *code, bool allowed, const char *msg)
{
  cleanup_free char *id = logfmt_escape (ctx && ctx->container_id ? ctx->container_id : "?", ID_MAX);
  cleanup_free char *text = logfmt_escape (msg, PG_LOG_LINE_MAX);
  char *out = NULL;

  if (allowed)
    xasprintf (&out, "patchgate: warning: allowed container %s despite an error (on_error: allow): %s\n", id,
               text);
  else if (strcmp (code, "POLICY_ERROR") == 0)
    xasprintf (&out, "patchgate: refused container %s: internal error: %s\n", id, text);
  else
    xasprintf (&out, "patchgate: refused container %s: %s: %s\n", id, code, text);
  return out;
}

json_t *
report_json (const struct pg_decision *d, const struct pg_context *ctx)
{
  json_t *reasons = json_array ();
  for (size_t i = 0; i < d->n_reasons; i++)
    json_array_append_new (reasons, json_pack ("{s:s, s:s, s:s, s:b}", "code", d->reasons[i].code, "detail",
                                               d->reasons[i].detail ? d->reasons[i].detail : "", "remedy",
                                               d->reasons[i].remedy ? d->reasons[i].remedy : "", "enforced",
                                               d->reasons[i].deny));
  json_t *j = json_pack (
      "{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:o, s:o, s:o}", "decision", verdict_name (d->verdict), "mode",
      mode_name (d->mode), "scope", d->scope ? d->scope : "defaults", "policy",
      d->policy_version ? d->policy_version : "", "image", ctx->image_ref ? ctx->image_ref : d->image_name,
      "digest", ctx->digest, "image_id", d->image_id, "reasons", reasons, "waivers_applied",
      pg_json_strv (d->waivers_applied, d->n_waivers_applied), "waivers_expired",
      pg_json_strv (d->waivers_expired, d->n_waivers_expired));
  if (j && ctx->engine)
    json_object_set_new (j, "engine", json_string (ctx->engine));
  if (j && ctx->conflict)
    json_object_set_new (j, "conflict", json_string (ctx->conflict));
  if (j && d->n_notes)
    json_object_set_new (j, "notes", pg_json_strv (d->notes, d->n_notes));
  if (j)
    {
      /* The very line the hook would log.  */
      cleanup_free char *line = report_logfmt (d, ctx);
      json_object_set_new (j, "log", json_string (line));
    }
  return j;
}
