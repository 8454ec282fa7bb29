#include "cli.h"
#include "audit/audit.h"
#include "report/report.h"
#include "base/clock.h"

#include <getopt.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate audit [--json] [--root [containerd=|docker=]DIR]... [--at TIME]\n"
                "                       [--config FILE] [--db FILE] [--index FILE]\n"
                "\n"
                "Decide every container running on this host again, as the hook would decide it\n"
                "now: the OCI state the runtime gave the hook is rebuilt from the runtime's own\n"
                "state, and goes through the hook's code (config.json and the engine's records\n"
                "under the hook's bounds, then the decision index), with the --engine its state\n"
                "root implies.  Read-only: nothing is stopped or signalled.\n"
                "\n"
                "Listed: every container whose init process is alive (running, paused, or\n"
                "created and not yet started: its hook has run) in these state roots:\n"
                "  /run/runc, /run/crun      runc and crun, bare or under rootful podman and\n"
                "                            CRI-O (proven from containers/storage's record of\n"
                "                            the bundle; else decided as a bare runtime's)\n"
                "  /run/containerd/runc/NS   containerd's runc shim (--engine containerd;\n"
                "                            namespace moby is dockerd's)\n"
                "  /run/docker/runtime-*/NS  Docker (--engine docker)\n"
                "Stopped containers left in a root are not listed.\n"
                "\n"
                "  --json          a JSON array: per container its engine, image, decision,\n"
                "                  reasons, running_since, ... and \"check\": the decision as\n"
                "                  `patchgate check --json` gives it\n"
                "  --root DIR      look in DIR (runc's or crun's layout: DIR/<id>) instead of\n"
                "                  the roots above; containerd=DIR: DIR/<namespace>/<id>;\n"
                "                  docker=DIR: Docker's exec root; repeatable\n"
                "  --at TIME       decide at this RFC 3339 time instead of now\n"
                "  --config FILE   hook config (policy_index, engines' stores, annotation_keys)\n"
                "  --db FILE       policy database (default: the hook config's, else " PG_DEFAULT_DB ")\n"
                "  --index FILE    policy index (default: the hook config's, or beside --db)\n"
                "  -h, --help      show this help\n"
                "\n"
                "A container whose bundle fails the hook's reading (config.json malformed or\n"
                "too large, a record that is not the engine's) is an error row that counts as\n"
                "refused: the hook refuses it (INVALID_INPUT).  One whose runtime state cannot\n"
                "be read is an error row too: what the hook would do is not known.\n"
                "\n"
                "Exit status: 0 every container would be allowed (or only audited), 1 one or\n"
                "more would now be refused, 2 error (audit could not run, or a container could\n"
                "not be decided).\n");
}

/* A table cell: printable ASCII only (ids, names and paths may come from
   whoever made the container), at most MAX columns, "..." where cut
   (ELLIPSIS).  */
static char *
cell_cut (const char *s, size_t max, bool ellipsis)
{
  size_t len = s ? strlen (s) : 0;
  char *out;

  if (s == NULL || *s == '\0')
    return xstrdup ("-");
  if (len > max)
    len = max;
  out = xmalloc0 (len + 1);
  for (size_t i = 0; i < len; i++)
    out[i] = (s[i] < 0x20 || s[i] > 0x7e) ? '?' : s[i];
  if (ellipsis && strlen (s) > max && max > 3)
    memcpy (out + max - 3, "...", 3);
  return out;
}

static char *
cell (const char *s, size_t max)
{
  return cell_cut (s, max, true);
}

/* A 64-hex ID (podman's, Docker's, CRI-O's) shortened as they show it.  */
static char *
id_cell (const char *id)
{
  size_t n = strspn (id, "0123456789abcdef");
  if (n == 64 && id[64] == '\0')
    return cell_cut (id, 12, false);
  return cell (id, 64);
}

static char *
reasons_cell (const struct pg_audit_row *r)
{
  char *s = NULL;

  if (r->outcome == PG_AUDIT_INPUT_ERROR)
    return xstrdup ("INVALID_INPUT");
  if (r->outcome != PG_AUDIT_DECIDED)
    return xstrdup ("-");
  for (size_t i = 0; i < r->res.decision.n_reasons; i++)
    {
      char *n = NULL;
      xasprintf (&n, "%s%s%s", s ? s : "", i ? "," : "", r->res.decision.reasons[i].code);
      free (s);
      s = n;
    }
  if (s == NULL)
    return xstrdup ("-");
  char *c = cell (s, 512);
  free (s);
  return c;
}

enum
{
  COL_CONTAINER,
  COL_ENGINE,
  COL_IMAGE,
  COL_DECISION,
  COL_REASONS,
  COL_SINCE,
  N_COLS,
};

static void
print_table (const struct pg_audit *a)
{
  static const char *const head[N_COLS]
      = { "CONTAINER", "ENGINE", "IMAGE", "DECISION", "REASONS", "RUNNING SINCE" };
  char **cells = xmalloc0 ((a->n_rows * N_COLS + 1) * sizeof (char *));
  size_t width[N_COLS];
  size_t refused = 0, errors = 0, allowed = 0;

  for (int c = 0; c < N_COLS; c++)
    width[c] = strlen (head[c]);
  for (size_t i = 0; i < a->n_rows; i++)
    {
      const struct pg_audit_row *r = &a->rows[i];
      char **row = &cells[i * N_COLS];
      char since[64] = "-";
      if (r->c.created >= 0)
        format_rfc3339 (r->c.created, since, sizeof (since));
      row[COL_CONTAINER] = id_cell (r->c.id);
      row[COL_ENGINE] = cell (pg_audit_row_engine (r), 32);
      row[COL_IMAGE] = cell (pg_audit_row_image (r), 72);
      row[COL_DECISION] = cell (pg_audit_row_decision (r), 16);
      row[COL_REASONS] = reasons_cell (r);
      row[COL_SINCE] = cell (since, 32);
      for (int c = 0; c < N_COLS; c++)
        if (strlen (row[c]) > width[c])
          width[c] = strlen (row[c]);
    }
  for (int c = 0; c < N_COLS; c++)
    printf ("%-*s%s", c == N_COLS - 1 ? 0 : (int) width[c], head[c], c == N_COLS - 1 ? "\n" : "  ");
  for (size_t i = 0; i < a->n_rows; i++)
    for (int c = 0; c < N_COLS; c++)
      printf ("%-*s%s", c == N_COLS - 1 ? 0 : (int) width[c], cells[i * N_COLS + c],
              c == N_COLS - 1 ? "\n" : "  ");

  /* Why, for each container that is not simply allowed: the hook's own
     words.  */
  for (size_t i = 0, shown = 0; i < a->n_rows; i++)
    {
      const struct pg_audit_row *r = &a->rows[i];
      cleanup_free char *why = NULL;
      cleanup_free char *text = NULL;
      if (pg_audit_row_refused (r))
        refused++;
      else if (r->outcome != PG_AUDIT_DECIDED)
        errors++;
      else
        allowed++;
      if (r->outcome == PG_AUDIT_DECIDED && r->res.decision.n_reasons == 0)
        continue;
      if (r->outcome == PG_AUDIT_DECIDED)
        why = report_summary (&r->res.decision, &r->res.ctx);
      else
        xasprintf (&why, "%s%s",
                   r->outcome == PG_AUDIT_INPUT_ERROR ? "INVALID_INPUT: " : "error: ", r->error);
      text = cell (why, 4096);
      printf ("%s%s: %s\n", shown++ == 0 ? "\n" : "", cells[i * N_COLS], text);
    }
  printf ("\n%zu container%s: %zu allowed, %zu refused now, %zu not decided.\n", a->n_rows,
          a->n_rows == 1 ? "" : "s", allowed, refused, errors);
  for (size_t i = 0; i < a->n_rows * N_COLS; i++)
    free (cells[i]);
  free (cells);
}

static int
print_json (const struct pg_audit *a)
{
  cleanup_json json_t *doc = json_array ();
  cleanup_free char *text = NULL;

  for (size_t i = 0; i < a->n_rows; i++)
    json_array_append_new (doc, pg_audit_row_json (&a->rows[i]));
  text = json_dumps (doc, JSON_INDENT (2));
  if (text == NULL)
    return -1;
  puts (text);
  return 0;
}

int
cmd_audit (int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },     { "root", required_argument, NULL, 'r' },
    { "at", required_argument, NULL, 'a' }, { "config", required_argument, NULL, 'c' },
    { "db", required_argument, NULL, 'd' }, { "index", required_argument, NULL, 'x' },
    { "help", no_argument, NULL, 'h' },     { NULL, 0, NULL, 0 },
  };
  cleanup_hook_config struct pg_hook_config cfg = { 0 };
  cleanup_audit struct pg_audit audit = { 0 };
  cleanup_free struct pg_state_root *roots = NULL;
  struct pg_audit_options o = { 0 };
  const char *config = NULL, *db = NULL, *index = NULL, *at = NULL;
  pg_error_t err = NULL;
  bool json = false;
  size_t n_roots = 0;
  int c, ret = 0;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        json = true;
        break;
      case 'r':
        roots = xrealloc (roots, (n_roots + 1) * sizeof (*roots));
        if (pg_state_root_parse (optarg, &roots[n_roots], &err) < 0)
          return cli_fail (&err);
        n_roots++;
        break;
      case 'a':
        at = optarg;
        break;
      case 'c':
        config = optarg;
        break;
      case 'd':
        db = optarg;
        break;
      case 'x':
        index = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (optind != argc)
    {
      fprintf (stderr, "patchgate: audit takes no arguments\n");
      usage (stderr);
      return 2;
    }
  if (cli_decision_time (at, &o.now, &err) < 0 || cli_load_hook_config (config, db, index, &cfg, &err) < 0)
    return cli_fail (&err);
  o.roots = roots;
  o.n_roots = n_roots;
  if (pg_audit_run (&cfg, &o, &audit, &err) < 0)
    return cli_fail (&err);

  for (size_t i = 0; i < audit.n_rows; i++)
    {
      if (audit.rows[i].outcome == PG_AUDIT_ERROR)
        ret = 2;
      else if (ret == 0 && pg_audit_row_refused (&audit.rows[i]))
        ret = 1;
    }
  if (json)
    {
      if (print_json (&audit) < 0)
        {
          pg_make_error (&err, 0, "the audit cannot be written as JSON");
          return cli_fail (&err);
        }
    }
  else if (audit.n_rows == 0)
    printf ("No running container in the state roots looked at.\n");
  else
    print_table (&audit);
  return ret;
}
