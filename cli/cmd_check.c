#include "cli.h"
#include "gate/gate.h"
#include "import/import.h"
#include "report/report.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/digest.h"

#include <getopt.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate check [--db FILE] [--index FILE]\n"
           "                       (--digest D | --image REF | --bundle DIR | --state FILE |\n"
           "                       --report FILE)\n"
           "                       [--namespace NS] [--at TIME] [--json] [--config FILE] [--engine NAME]\n"
           "\n"
           "Explain the decision the hook would make, with the same code the hook runs, from\n"
           "the same policy index (the policy and the database compiled into one file).\n"
           "\n"
           "  --digest D      an image ID, manifest or repo digest (sha256:...)\n"
           "  --image REF     name:tag (the newest scanned build) or name@sha256:...\n"
           "  --bundle DIR    an OCI bundle, identified as the hook would\n"
           "  --state FILE    an OCI state JSON file, as the runtime passes it to hooks\n"
           "  --report FILE   a fresh Trivy or Grype report (- for stdin), judged against the\n"
           "                  stored policy as if it were imported, without storing it: a\n"
           "                  build pipeline fails with the reasons production would give\n"
           "  --namespace NS  Kubernetes namespace for scope matching (--digest/--image)\n"
           "  --at TIME       decide at this RFC 3339 time instead of now\n"
           "  --json          print {\"decision\", \"reasons\": [{\"code\", \"detail\", \"remedy\"}], ...}\n"
           "  --config FILE   hook config (annotation_keys, policy_db, policy_index, ...)\n"
           "  --engine NAME   for --bundle/--state: the --engine the hook's wiring passes\n"
           "                  (crio, podman, containers-storage, containerd, docker, runc)\n"
           "  --db FILE       policy database (default: the hook config's, else " PG_DEFAULT_DB ")\n"
           "  --index FILE    policy index (default: the hook config's, or beside --db)\n"
           "  -h, --help      show this help\n"
           "\n"
           "Lines starting with `vex:` (--json: \"notes\") name the OpenVEX statement that\n"
           "decided a finding, and its document, or say why none cleared it.\n"
           "\n"
           "Exit status: 0 allow or audit, 1 deny, 2 error.\n");
}

struct check_opts
{
  const char *db;
  const char *index;
  const char *digest;
  const char *image;
  const char *bundle;
  const char *state;
  const char *report;
  const char *namespace;
  const char *config;
  const char *engine;
  bool json;
  int64_t now;
};

static void
print_decision (const struct pg_decision *d, const struct pg_context *ctx, bool json)
{
  if (json)
    {
      cleanup_json json_t *j = report_json (d, ctx);
      json_dumpf (j, stdout, JSON_INDENT (2));
      putchar ('\n');
      return;
    }
  printf ("decision: %s (mode %s, scope %s, policy %s)\n", verdict_name (d->verdict), mode_name (d->mode),
          d->scope, d->policy_version);
  printf ("image:    %s\n", ctx->image_ref ? ctx->image_ref : (d->image_name ? d->image_name : "(no name)"));
  printf ("digest:   %s\n", ctx->digest ? ctx->digest : "(unidentified)");
  for (size_t i = 0; i < d->n_reasons; i++)
    {
      printf ("%s%s: %s\n", d->reasons[i].code, d->reasons[i].deny ? "" : " (audit only)",
              d->reasons[i].detail);
      printf ("  to pass: %s\n", d->reasons[i].remedy);
    }
  for (size_t i = 0; i < d->n_waivers_applied; i++)
    printf ("waiver %s applied\n", d->waivers_applied[i]);
  for (size_t i = 0; i < d->n_waivers_expired; i++)
    printf ("waiver %s expired and no longer applies\n", d->waivers_expired[i]);
  for (size_t i = 0; i < d->n_notes; i++)
    printf ("%s\n", d->notes[i]);
  {
    /* The line the hook logs for this decision, rendered by the same code. */
    cleanup_free char *line = report_logfmt (d, ctx);
    printf ("log:      %s\n", line);
  }
}

static int
exit_code (enum pg_verdict v)
{
  return v == PG_VERDICT_DENY ? 1 : 0;
}

/* The hook config, with --db and --index in place of its own.  */
static int
load_config (const struct check_opts *o, struct pg_hook_config *cfg, pg_error_t *err)
{
  return cli_load_hook_config (o->config, o->db, o->index, cfg, err);
}

static int
check_state (const struct check_opts *o, const char *text, size_t len, const char *name)
{
  cleanup_hook_config struct pg_hook_config cfg = { 0 };
  cleanup_gate_result struct pg_gate_result res = { 0 };
  pg_error_t err = NULL;

  if (load_config (o, &cfg, &err) < 0)
    return cli_fail (&err);
  /* As the hook definition's --engine sets it (identify/identify.h).  */
  cfg.engine = o->engine ? xstrdup (o->engine) : NULL;
  if (gate_decide (&cfg, text, len, name, o->now, &res, &err) < 0)
    return cli_fail (&err);
  print_decision (&res.decision, &res.ctx, o->json);
  return exit_code (res.decision.verdict);
}

static int
check_bundle (const struct check_opts *o)
{
  cleanup_free char *text = NULL;
  pg_error_t err = NULL;

  if (o->bundle[0] != '/')
    {
      pg_make_error (&err, 0, "--bundle: `%s` must be an absolute path", o->bundle);
      return cli_fail (&err);
    }
  /* As the runtime would pass it: config.json's annotations in the state.  */
  if (oci_state_for_bundle ("patchgate-check", o->bundle, "creating", 0, &text, &err) < 0)
    return cli_fail (&err);
  return check_state (o, text, strlen (text), o->bundle);
}

/* --image NAME:TAG names no digest: the newest scanned build of that name,
   as the database knows it (a name is no decision; the index decides).  */
static int
digest_of_name (const struct pg_hook_config *cfg, const char *repo, const char *tag, char **digest,
                pg_error_t *err)
{
  cleanup_store pg_store *store = NULL;
  cleanup_image_record struct pg_image_record rec = { 0 };
  int r;

  if (store_open (cfg->policy_db, PG_STORE_READONLY, &store, err) < 0)
    return -1;
  r = store_lookup_name (store, repo, tag, &rec, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return pg_make_error (err, 0,
                          "no scanned image is named %s:%s (an unscanned image is checked by --digest)", repo,
                          tag ? tag : "latest");
  *digest = xstrdup (rec.image_id ? rec.image_id : rec.manifest_digest);
  return 0;
}

static int
check_image (const struct check_opts *o)
{
  cleanup_index pg_index *idx = NULL;
  cleanup_free char *digest = NULL;
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  cleanup_hook_config struct pg_hook_config cfg = { 0 };
  cleanup_decision struct pg_decision d = { 0 };
  struct pg_index_open_opts io = { 0 };
  struct pg_context ctx;
  pg_error_t err = NULL;

  /* The hook config's settings (max_policy_age, ...) apply as in the hook. */
  if (load_config (o, &cfg, &err) < 0)
    return cli_fail (&err);
  gate_context_init (&cfg, &ctx);
  ctx.container_id = "patchgate-check";
  ctx.namespace = o->namespace;
  ctx.engine = "runc";
  if (o->digest)
    {
      digest = digest_normalize (o->digest);
      if (digest == NULL)
        {
          pg_make_error (&err, 0, "--digest: `%s` is not a sha256 digest", o->digest);
          return cli_fail (&err);
        }
    }
  else
    {
      if (image_ref_parse (o->image, &repo, &tag, &digest) < 0)
        {
          pg_make_error (&err, 0, "--image: `%s` is not an image reference", o->image);
          return cli_fail (&err);
        }
      ctx.image_ref = o->image;
      if (digest == NULL && digest_of_name (&cfg, repo, tag, &digest, &err) < 0)
        return cli_fail (&err);
    }
  ctx.digest = digest;
  io.db_path = cfg.policy_db;
  io.max_lag = cfg.index_max_lag;
  if (index_open (cfg.policy_index, &io, &idx, &err) < 0 || index_decide (idx, &ctx, o->now, &d, &err) < 0)
    return cli_fail (&err);
  print_decision (&d, &ctx, o->json);
  return exit_code (d.verdict);
}

/* The one report of --report (import_foreach_report reads it as the
   import would).  */
struct one_report
{
  struct pg_scan scan;
  size_t n;
};

static int
on_report (json_t *doc, const char *source, void *data, pg_error_t *err)
{
  struct one_report *one = data;

  if (one->n++ > 0)
    return pg_make_error (err, 0, "%s: more than one report (check --report judges one)", source);
  return import_parse_report (doc, source, &one->scan, err);
}

static int
check_report (const struct check_opts *o)
{
  cleanup_store pg_store *store = NULL;
  cleanup_hook_config struct pg_hook_config cfg = { 0 };
  cleanup_decision struct pg_decision d = { 0 };
  struct one_report one = { 0 };
  struct pg_scan_digest digests[1];
  char *paths[] = { (char *) o->report };
  struct pg_context ctx;
  pg_error_t err = NULL;
  int ret;

  /* --db, else the hook config's database, as --help says.  */
  if (hook_config_load (hook_config_env_path (o->config), &cfg, &err) < 0
      || store_open (o->db ? o->db : cfg.policy_db, PG_STORE_READONLY, &store, &err) < 0)
    return cli_fail (&err);
  if (import_foreach_report (paths, 1, on_report, &one, &err) < 0)
    {
      pg_scan_free (&one.scan);
      return cli_fail (&err);
    }
  if (one.n == 0)
    {
      pg_make_error (&err, 0, "%s: no report in it", o->report);
      return cli_fail (&err);
    }
  gate_context_init (&cfg, &ctx);
  ctx.container_id = "patchgate-check";
  ctx.namespace = o->namespace;
  ctx.engine = "runc";
  /* The digest the image goes by (its name comes from the report's tags,
     through the record); none at all fails in decide_scan as the import
     would.  */
  if (pg_scan_digests (&one.scan, digests, 1) == 1)
    ctx.digest = digests[0].digest;
  ret = decide_scan (store, &one.scan, &ctx, o->now, &d, &err);
  if (ret == 0)
    print_decision (&d, &ctx, o->json);
  pg_scan_free (&one.scan);
  return ret < 0 ? cli_fail (&err) : exit_code (d.verdict);
}

int
cmd_check (int argc, char **argv)
{
  static const struct option opts[] = {
    { "db", required_argument, NULL, 'd' },
    { "index", required_argument, NULL, 'x' },
    { "digest", required_argument, NULL, 'D' },
    { "image", required_argument, NULL, 'i' },
    { "bundle", required_argument, NULL, 'b' },
    { "state", required_argument, NULL, 's' },
    { "namespace", required_argument, NULL, 'n' },
    { "at", required_argument, NULL, 'a' },
    { "json", no_argument, NULL, 'j' },
    { "config", required_argument, NULL, 'c' },
    { "engine", required_argument, NULL, 'e' },
    { "report", required_argument, NULL, 'r' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct check_opts o = { 0 };
  pg_error_t err = NULL;
  const char *at = NULL;
  int c, targets;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        o.db = optarg;
        break;
      case 'x':
        o.index = optarg;
        break;
      case 'D':
        o.digest = optarg;
        break;
      case 'i':
        o.image = optarg;
        break;
      case 'b':
        o.bundle = optarg;
        break;
      case 's':
        o.state = optarg;
        break;
      case 'r':
        o.report = optarg;
        break;
      case 'n':
        o.namespace = optarg;
        break;
      case 'a':
        at = optarg;
        break;
      case 'j':
        o.json = true;
        break;
      case 'c':
        o.config = optarg;
        break;
      case 'e':
        o.engine = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  targets
      = (o.digest != NULL) + (o.image != NULL) + (o.bundle != NULL) + (o.state != NULL) + (o.report != NULL);
  if (targets != 1 || optind != argc)
    {
      fprintf (stderr,
               "patchgate: check needs exactly one of --digest, --image, --bundle, --state, --report\n");
      usage (stderr);
      return 2;
    }
  if (cli_decision_time (at, &o.now, &err) < 0)
    return cli_fail (&err);

  if (o.state)
    {
      cleanup_free char *text = NULL;
      size_t len = 0;
      if (read_all_file (o.state, PG_MAX_STATE_SIZE, &text, &len, &err) < 0)
        return cli_fail (&err);
      return check_state (&o, text, len, o.state);
    }
  if (o.bundle)
    return check_bundle (&o);
  if (o.report)
    return check_report (&o);
  return check_image (&o);
}
