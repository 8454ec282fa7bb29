/* patchgate report: reports over the whole database.
 *   rebuilds  which images to rebuild because their base was patched or revoked
 *   expiring  which images pass now and will be refused within a window
 */
#include "cli.h"
#include "expiring/expiring.h"
#include "gate/gate.h"
#include "lineage/lineage.h"
#include "rules/policy_cache.h"
#include "store/store.h"
#include "base/clock.h"
#include "base/digest.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static void
report_usage (FILE *out)
{
  fprintf (out,
           "Usage: patchgate report rebuilds [--db FILE] [--base REF|DIGEST] [--json | --dot]\n"
           "       patchgate report expiring [--within DURATION] [--at TIME]\n"
           "                [--namespace NS] [--json] [--db FILE] [--index FILE]\n"
           "                [--config FILE]\n"
           "\n"
           "Reports over the policy database.\n"
           "\n"
           "  rebuilds  the images to rebuild because the base they were built FROM was\n"
           "            patched (a newer build of its repository:tag was scanned) or\n"
           "            revoked (the policy's revoked.bases).  The hierarchy comes from\n"
           "            layer DiffIDs: an image built FROM a base starts with the base's\n"
           "            DiffIDs (base -> enterprise image -> application).  An image is on\n"
           "            an older build when the longest of the base's builds whose DiffIDs\n"
           "            start its own is not the newest; each is listed with its names,\n"
           "            repositories and last scan, in rebuild order (what an image is\n"
           "            built FROM comes first).\n"
           "\n"
           "  expiring  the images the hook allows now and will refuse within the window,\n"
           "            each with the first second it is refused and why, then each\n"
           "            further reason that starts within the window: a scan going stale,\n"
           "            the image's age, a fix grace period or the superseded grace\n"
           "            ending, a waiver or OpenVEX statement expiring, an end-of-life\n"
           "            date, the policy bundle growing older than max_policy_age.  Every\n"
           "            instant is the hook's own decision (the policy index) at that\n"
           "            second and the second before it, with the database as it is now:\n"
           "            a rescan or a new policy moves them.\n"
           "\n"
           "Options of rebuilds:\n"
           "      --base REF     one base: repository:tag (its older builds), a repository\n"
           "                     (every tag of it), or a digest / name@digest (that very\n"
           "                     build: every image built on it).  Default: every base\n"
           "                     with a newer build that images are still on, and every\n"
           "                     revoked base of the policy\n"
           "      --json         {\"bases\": [{\"kind\", \"names\", \"newest\", \"builds\": [{\"digest\",\n"
           "                     \"names\", \"first_seen\", \"revoked\", \"rebuild\": [{\"digest\",\n"
           "                     \"names\", \"repositories\", \"last_scan\", \"via\", \"depth\"}]}]}],\n"
           "                     \"images_to_rebuild\": N}\n"
           "      --dot          the hierarchy as a Graphviz digraph (dot -Tsvg): older\n"
           "                     builds orange, revoked ones red, newest builds green,\n"
           "                     images to rebuild outlined red\n"
           "      --db FILE      policy database (default %s)\n"
           "\n"
           "Options of expiring:\n"
           "      --within D     the window, a duration such as 7d, 12h, 2w, 1d12h\n"
           "                     (default 7d)\n"
           "      --at TIME      the \"now\" the window starts at, RFC 3339 (default: now)\n"
           "      --namespace NS decide as for a container in Kubernetes namespace NS\n"
           "                     (the scopes that match it); default: no namespace\n"
           "      --json         {\"now\", \"until\", \"within_seconds\", \"namespace\",\n"
           "                     \"images_examined\", \"images_refused_now\",\n"
           "                     \"images_expiring\", \"expiring\": [{\"at\", \"in_seconds\",\n"
           "                     \"code\", \"detail\", \"remedy\", \"refuses\", \"digest\",\n"
           "                     \"image_id\", \"name\", \"repositories\", \"scope\",\n"
           "                     \"refused_at\"}]}, by instant; \"refuses\": the image's\n"
           "                     first refused second\n"
           "      --config FILE  hook config (policy_db, policy_index, max_policy_age,\n"
           "                     policy_stale)\n"
           "      --db FILE      policy database (default: the hook config's, else\n"
           "                     %s)\n"
           "      --index FILE   policy index (default: the hook config's, or beside --db)\n"
           "\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: rebuilds: 0 the report was made, 2 an error.  expiring: 0 no\n"
           "image is refused within the window, 1 some are, 2 an error.\n",
           PG_DEFAULT_DB, PG_DEFAULT_DB);
}

struct rebuilds_opts
{
  const char *db;
  const char *base;
  bool json;
  bool dot;
};

/* ---- the query ---- */

/* --base: a digest names one build, anything else a line.  */
static int
parse_base (pg_store *store, const char *base, struct pg_rebuild_query *q, char **repo, char **tag,
            pg_error_t *err)
{
  cleanup_free char *digest = digest_normalize (base);
  int r;

  if (digest == NULL)
    {
      if (image_ref_parse (base, repo, tag, &digest) < 0)
        return pg_make_error (err, 0, "--base: `%s` is not an image reference or digest", base);
      if (digest == NULL)
        {
          q->repository = *repo;
          q->tag = *tag;
          return 0;
        }
    }
  r = store_find_image_rowid (store, digest, &q->image, err);
  if (r < 0)
    return -1;
  if (r == 0)
    return pg_make_error (err, 0, "--base: no image with digest %s in the database", digest);
  return 0;
}

/* The rows of the policy's revoked bases that the database knows.  */
static int
revoked_rows (pg_store *store, int64_t **rows, size_t *n, pg_error_t *err)
{
  cleanup_policy struct pg_policy *policy = NULL;
  cleanup_free char *json = NULL;
  int r = store_get_policy (store, &json, NULL, NULL, err);

  if (r <= 0)
    return r; /* no policy: nothing is revoked */
  if (policy_load_cached (store, &policy, err) < 0)
    return -1;
  for (size_t i = 0; i < policy->n_revoked_bases; i++)
    {
      int64_t row;
      r = store_find_image_rowid (store, policy->revoked_bases[i], &row, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue;
      *rows = xrealloc (*rows, (*n + 1) * sizeof (**rows));
      (*rows)[(*n)++] = row;
    }
  return 0;
}

/* ---- text ---- */

static void
print_time (const char *label, int64_t t)
{
  char buf[32];
  if (t <= 0)
    {
      printf ("%s never", label);
      return;
    }
  format_rfc3339 (t, buf, sizeof (buf));
  printf ("%s %s", label, buf);
}

/* "name, name" of image I, or its repositories, or nothing.  */
static char *
image_label (const struct pg_catalog_image *im)
{
  char **tags, **repos;
  size_t n_tags, n_repos;
  char *out = NULL;
  char **v;
  size_t n;

  lineage_image_names (im, &tags, &n_tags, &repos, &n_repos);
  v = n_tags ? tags : repos;
  n = n_tags ? n_tags : n_repos;
  for (size_t i = 0; i < n; i++)
    {
      char *joined = NULL;
      xasprintf (&joined, "%s%s%s", out ? out : "", out ? ", " : "", v[i]);
      free (out);
      out = joined;
    }
  strv_free (tags, n_tags);
  strv_free (repos, n_repos);
  return out ? out : xstrdup ("(no name)");
}

static void
print_rebuilds_text (const struct pg_lineage *l, const struct pg_rebuilds *r)
{
  const struct pg_catalog *cat = l->cat;

  for (size_t g = 0; g < r->n_groups; g++)
    {
      const struct pg_rebuild_group *grp = &r->groups[g];
      if (grp->kind == PG_REBUILD_LINE)
        {
          printf ("base ");
          for (size_t i = 0; i < grp->n_names; i++)
            printf ("%s%s", i ? ", " : "", grp->names[i]);
        }
      else
        {
          cleanup_free char *label = image_label (&cat->images[grp->builds[0].image]);
          printf ("%sbase %s (%s)", grp->builds[0].revoked ? "revoked " : "",
                  cat->images[grp->builds[0].image].digest, label);
        }
      putchar ('\n');
      if (grp->newest != PG_LINEAGE_NONE)
        {
          printf ("  newest build %s (", cat->images[grp->newest].digest);
          print_time ("first seen", grp->newest_since);
          printf (")\n");
        }
      else if (grp->kind == PG_REBUILD_BUILD)
        printf ("  no newer build of it is known\n");
      if (grp->n_builds == 0)
        printf ("  no older build\n");
      for (size_t b = 0; b < grp->n_builds; b++)
        {
          const struct pg_base_build *bb = &grp->builds[b];
          if (grp->kind == PG_REBUILD_LINE)
            {
              printf ("  %s build %s (", bb->revoked ? "revoked" : "older", cat->images[bb->image].digest);
              print_time ("first seen", bb->first_seen);
              printf (")");
            }
          else
            printf ("  built on it");
          printf (": %zu %s to rebuild%s\n", bb->n_rebuild, bb->n_rebuild == 1 ? "image" : "images",
                  bb->n_rebuild && grp->newest != PG_LINEAGE_NONE ? " on the newest build" : "");
          for (size_t i = 0; i < bb->n_rebuild; i++)
            {
              const struct pg_rebuild_image *ri = &bb->rebuild[i];
              const struct pg_catalog_image *im = &cat->images[ri->image];
              cleanup_free char *label = image_label (im);
              printf ("%*s%s  %s  ", (int) (2 + 2 * ri->depth), "", im->digest, label);
              print_time ("last scan", im->last_scan);
              if (ri->via != PG_LINEAGE_NONE)
                {
                  cleanup_free char *via = image_label (&cat->images[ri->via]);
                  printf ("  (built FROM %s)", via);
                }
              putchar ('\n');
            }
        }
    }
  if (r->n_images == 0)
    printf ("nothing to rebuild\n");
  else
    printf ("%zu %s to rebuild\n", r->n_images, r->n_images == 1 ? "image" : "images");
}

/* ---- Graphviz ---- */

enum node_role
{
  ROLE_NONE = 0,
  ROLE_IMAGE = 1 << 0,   /* shown */
  ROLE_NEWEST = 1 << 1,  /* a newest build */
  ROLE_OLDER = 1 << 2,   /* an older build images are on */
  ROLE_REVOKED = 1 << 3, /* revoked */
  ROLE_REBUILD = 1 << 4, /* to rebuild */
};

/* A DOT string: quotes and backslashes escaped, a newline as DOT's line
   break, other control bytes dropped.  */
static void
print_dot_string (const char *s)
{
  putchar ('"');
  for (; *s; s++)
    {
      if (*s == '\n')
        fputs ("\\n", stdout);
      else if (*s == '"' || *s == '\\')
        printf ("\\%c", *s);
      else if ((unsigned char) *s >= 0x20)
        putchar (*s);
    }
  putchar ('"');
}

static void
print_dot_node (const struct pg_catalog_image *im, unsigned roles)
{
  cleanup_free char *label = image_label (im);
  cleanup_free char *text = NULL;
  char when[32] = "never";
  const char *fill = "white", *color = "black";

  if (im->last_scan > 0)
    format_rfc3339 (im->last_scan, when, sizeof (when));
  /* The digest's algorithm and 12 hex digits: enough to tell builds apart. */
  xasprintf (&text, "%s\n%.19s\nlast scan %s", label, im->digest, when);
  if (roles & ROLE_REVOKED)
    fill = "tomato";
  else if (roles & ROLE_OLDER)
    fill = "orange";
  else if (roles & ROLE_NEWEST)
    fill = "palegreen";
  if (roles & ROLE_REBUILD)
    color = "red";
  printf ("  i%lld [label=", (long long) im->rowid);
  print_dot_string (text);
  printf (", fillcolor=%s, color=%s%s];\n", fill, color, (roles & ROLE_REBUILD) ? ", penwidth=3" : "");
}

static void
print_rebuilds_dot (const struct pg_lineage *l, const struct pg_rebuilds *r, bool whole)
{
  const struct pg_catalog *cat = l->cat;
  cleanup_free unsigned *roles = xmalloc0 ((cat->n_images + 1) * sizeof (*roles));

  /* Whole database: every image in a hierarchy.  One base: its builds and
     what is built on them, with the images in between.  */
  for (size_t i = 0; whole && i < cat->n_images; i++)
    if (l->parent[i] != PG_LINEAGE_NONE || l->n_children[i] > 0)
      roles[i] |= ROLE_IMAGE;
  for (size_t g = 0; g < r->n_groups; g++)
    {
      const struct pg_rebuild_group *grp = &r->groups[g];
      if (grp->newest != PG_LINEAGE_NONE)
        roles[grp->newest] |= ROLE_IMAGE | ROLE_NEWEST;
      for (size_t b = 0; b < grp->n_builds; b++)
        {
          const struct pg_base_build *bb = &grp->builds[b];
          roles[bb->image] |= ROLE_IMAGE | ROLE_OLDER | (bb->revoked ? ROLE_REVOKED : 0);
          for (size_t i = 0; i < bb->n_rebuild; i++)
            {
              roles[bb->rebuild[i].image] |= ROLE_IMAGE | ROLE_REBUILD;
              for (size_t p = bb->rebuild[i].via; p != PG_LINEAGE_NONE && !(roles[p] & ROLE_OLDER);
                   p = l->parent[p])
                roles[p] |= ROLE_IMAGE;
            }
        }
    }
  printf ("digraph rebuilds {\n"
          "  rankdir=LR;\n"
          "  node [shape=box, style=filled, fontname=\"monospace\"];\n");
  for (size_t i = 0; i < cat->n_images; i++)
    if (roles[i] & ROLE_IMAGE)
      print_dot_node (&cat->images[i], roles[i]);
  /* Built FROM: parent -> child.  */
  for (size_t i = 0; i < cat->n_images; i++)
    if ((roles[i] & ROLE_IMAGE) && l->parent[i] != PG_LINEAGE_NONE && (roles[l->parent[i]] & ROLE_IMAGE))
      printf ("  i%lld -> i%lld;\n", (long long) cat->images[l->parent[i]].rowid,
              (long long) cat->images[i].rowid);
  /* An image on a build that is not its tree parent (a twin's child).  */
  for (size_t g = 0; g < r->n_groups; g++)
    for (size_t b = 0; b < r->groups[g].n_builds; b++)
      {
        const struct pg_base_build *bb = &r->groups[g].builds[b];
        for (size_t i = 0; i < bb->n_rebuild; i++)
          {
            size_t x = bb->rebuild[i].image;
            if (bb->rebuild[i].via == PG_LINEAGE_NONE && l->parent[x] != bb->image)
              printf ("  i%lld -> i%lld [style=dotted];\n", (long long) cat->images[bb->image].rowid,
                      (long long) cat->images[x].rowid);
          }
        if (r->groups[g].newest != PG_LINEAGE_NONE && r->groups[g].newest != bb->image)
          printf ("  i%lld -> i%lld [style=dashed, color=darkgreen, label=\"newer build\"];\n",
                  (long long) cat->images[bb->image].rowid,
                  (long long) cat->images[r->groups[g].newest].rowid);
      }
  printf ("}\n");
}

static int
report_rebuilds (const struct rebuilds_opts *o)
{
  cleanup_store pg_store *store = NULL;
  cleanup_catalog struct pg_catalog cat = { 0 };
  cleanup_lineage struct pg_lineage lin = { 0 };
  cleanup_rebuilds struct pg_rebuilds res = { 0 };
  cleanup_free int64_t *revoked = NULL;
  cleanup_free char *repo = NULL;
  cleanup_free char *tag = NULL;
  struct pg_rebuild_query q = { 0 };
  pg_error_t err = NULL;
  int r = -1;

  if (store_open (o->db, PG_STORE_READONLY, &store, &err) < 0)
    return cli_fail (&err);
  /* One snapshot for the policy, the images and their names.  */
  if (store_begin (store, false, &err) < 0)
    return cli_fail (&err);
  q.all = o->base == NULL;
  if ((o->base && parse_base (store, o->base, &q, &repo, &tag, &err) < 0)
      || revoked_rows (store, &revoked, &q.n_revoked, &err) < 0 || store_catalog_load (store, &cat, &err) < 0)
    goto out;
  q.revoked = revoked;
  lineage_build (&cat, &lin);
  if (lineage_rebuilds (&lin, &q, &res, &err) < 0)
    goto out;
  r = 0;
out:
  store_rollback (store);
  if (r < 0)
    return cli_fail (&err);
  if (o->json)
    {
      cleanup_json json_t *j = lineage_rebuilds_json (&lin, &res);
      json_dumpf (j, stdout, JSON_INDENT (2));
      putchar ('\n');
    }
  else if (o->dot)
    print_rebuilds_dot (&lin, &res, o->base == NULL);
  else
    print_rebuilds_text (&lin, &res);
  return 0;
}

/* ---- expiring ---- */

struct expiring_opts
{
  const char *db;
  const char *index;
  const char *config;
  const char *namespace;
  bool json;
  int64_t now;
  int64_t within;
};

/* A row per reason, by instant: the reason that refuses the image first,
   or "+CODE", one that starts later (the image is refused already).  */
static void
print_expiring_text (const struct pg_expiring *r)
{
  size_t n;
  cleanup_free struct pg_expiring_row *rows = expiring_rows (r, &n);
  char now[32], until[32], within[32];

  format_rfc3339 (r->now, now, sizeof (now));
  format_rfc3339 (r->until, until, sizeof (until));
  format_duration (r->until - r->now, within, sizeof (within));
  printf ("images refused from %s to %s (%s), %s%s\n", now, until, within,
          r->namespace ? "namespace " : "no namespace", r->namespace ? r->namespace : "");
  if (n)
    printf ("%-20s  %-11s  %-18s  %s\n", "WHEN", "IN", "REASON", "IMAGE");
  for (size_t i = 0; i < n; i++)
    {
      const struct pg_expiring_image *im = rows[i].image;
      const struct pg_expiring_reason *x = rows[i].reason;
      char when[32], in[32];
      format_rfc3339 (x->at, when, sizeof (when));
      format_duration (x->at - r->now, in, sizeof (in));
      printf ("%-20s  %-11s  %s%-*s  %s %s\n", when, in, x->refuses ? "" : "+", x->refuses ? 18 : 17, x->code,
              im->name ? im->name : "(no name)", im->image_id ? im->image_id : im->digest);
      printf ("    %s\n", x->detail ? x->detail : "");
      if (im->n_repositories)
        {
          printf ("    repositories:");
          for (size_t k = 0; k < im->n_repositories; k++)
            printf ("%s %s", k ? "," : "", im->repositories[k]);
          putchar ('\n');
        }
      printf ("    scope %s; to pass: %s\n", im->scope, x->remedy ? x->remedy : "");
    }
  printf ("%zu of %zu %s refused within %s; %zu refused already%s\n", r->n_images, r->examined,
          r->examined == 1 ? "image" : "images", within, r->refused_now,
          n > r->n_images ? "; +CODE: a further reason, after the first" : "");
}

static int
report_expiring (const struct expiring_opts *o)
{
  cleanup_hook_config struct pg_hook_config cfg = { 0 };
  cleanup_index pg_index *idx = NULL;
  cleanup_expiring struct pg_expiring res = { 0 };
  struct pg_index_open_opts io = { 0 };
  struct pg_context ctx;
  pg_error_t err = NULL;

  /* As `patchgate check`: the hook config's database, index and settings
     (max_policy_age, policy_stale), --db and --index in place of its own. */
  if (hook_config_load (hook_config_env_path (o->config), &cfg, &err) < 0)
    return cli_fail (&err);
  if (o->db)
    hook_config_set_db (&cfg, o->db);
  if (o->index)
    {
      free (cfg.policy_index);
      cfg.policy_index = xstrdup (o->index);
    }
  gate_context_init (&cfg, &ctx);
  ctx.container_id = "patchgate-report";
  ctx.engine = "runc";
  ctx.namespace = o->namespace;
  io.db_path = cfg.policy_db;
  io.max_lag = cfg.index_max_lag;
  if (index_open (cfg.policy_index, &io, &idx, &err) < 0
      || expiring_find (idx, &ctx, o->now, o->within, &res, &err) < 0)
    return cli_fail (&err);
  if (o->json)
    {
      if (expiring_write_json (&res, stdout) < 0)
        {
          pg_make_error (&err, errno, "writing the report");
          return cli_fail (&err);
        }
    }
  else
    print_expiring_text (&res);
  return res.n_images ? 1 : 0;
}

static int
cmd_report_expiring (int argc, char **argv)
{
  static const struct option opts[] = {
    { "within", required_argument, NULL, 'w' },
    { "at", required_argument, NULL, 'a' },
    { "namespace", required_argument, NULL, 'n' },
    { "json", no_argument, NULL, 'j' },
    { "db", required_argument, NULL, 'd' },
    { "index", required_argument, NULL, 'x' },
    { "config", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct expiring_opts o = { .within = 7 * 86400 };
  const char *at = NULL;
  pg_error_t err = NULL;
  int c;

  optind = 0;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'w':
        if (parse_duration (optarg, &o.within) < 0 || o.within <= 0)
          {
            pg_make_error (&err, 0, "--within: `%s` is not a duration (e.g. 7d, 12h, 1d12h)", optarg);
            return cli_fail (&err);
          }
        break;
      case 'a':
        at = optarg;
        break;
      case 'n':
        o.namespace = optarg;
        break;
      case 'j':
        o.json = true;
        break;
      case 'd':
        o.db = optarg;
        break;
      case 'x':
        o.index = optarg;
        break;
      case 'c':
        o.config = optarg;
        break;
      case 'h':
        report_usage (stdout);
        return 0;
      default:
        fprintf (stderr, "Try `patchgate report --help`.\n");
        return 2;
      }
  if (optind != argc)
    {
      fprintf (stderr, "patchgate: report expiring: unexpected argument `%s`\n", argv[optind]);
      return 2;
    }
  if (at)
    {
      if (parse_rfc3339 (at, &o.now) < 0)
        {
          pg_make_error (&err, 0, "--at: `%s` is not an RFC 3339 time (e.g. 2026-11-22T10:00:00Z)", at);
          return cli_fail (&err);
        }
    }
  else if (pg_now (&o.now, &err) < 0)
    return cli_fail (&err);
  return report_expiring (&o);
}

/* ---- rebuilds ---- */

static int
cmd_report_rebuilds (int argc, char **argv)
{
  static const struct option opts[] = {
    { "db", required_argument, NULL, 'd' }, { "base", required_argument, NULL, 'b' },
    { "json", no_argument, NULL, 'j' },     { "dot", no_argument, NULL, 'g' },
    { "help", no_argument, NULL, 'h' },     { NULL, 0, NULL, 0 },
  };
  struct rebuilds_opts o = { .db = PG_DEFAULT_DB };
  int c;

  optind = 0;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        o.db = optarg;
        break;
      case 'b':
        o.base = optarg;
        break;
      case 'j':
        o.json = true;
        break;
      case 'g':
        o.dot = true;
        break;
      case 'h':
        report_usage (stdout);
        return 0;
      default:
        fprintf (stderr, "Try `patchgate report --help`.\n");
        return 2;
      }
  if (optind != argc || (o.json && o.dot))
    {
      fprintf (stderr, "patchgate: report rebuilds: %s\n",
               o.json && o.dot ? "--json and --dot exclude each other" : "unexpected argument");
      return 2;
    }
  return report_rebuilds (&o);
}

int
cmd_report (int argc, char **argv)
{
  const char *action = argc > 1 ? argv[1] : NULL;

  if (action && (strcmp (action, "--help") == 0 || strcmp (action, "-h") == 0))
    {
      report_usage (stdout);
      return 0;
    }
  if (action && strcmp (action, "rebuilds") == 0)
    return cmd_report_rebuilds (argc - 1, argv + 1);
  if (action && strcmp (action, "expiring") == 0)
    return cmd_report_expiring (argc - 1, argv + 1);
  fprintf (stderr, "patchgate: report: %s%s%s (try `patchgate report --help`)\n",
           action ? "unknown report `" : "which report? (rebuilds, expiring)", action ? action : "",
           action ? "`" : "");
  return 2;
}
