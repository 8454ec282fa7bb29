#include "cli.h"
#include "rules/policy.h"
#include "base/clock.h"
#include "base/file.h"
#include "rules/policy_cache.h"
#include "rules/scope.h"

#include <getopt.h>
#include <string.h>

static void
usage (FILE *out)
{
  fprintf (out, "Usage: patchgate policy set [--db FILE] [--index FILE] POLICY.json\n"
                "       patchgate policy show [--db FILE]\n"
                "       patchgate policy validate POLICY.json\n"
                "\n"
                "set       validate POLICY.json and store it; an invalid policy is never stored\n"
                "          and the previous one stays in force.  The change is one SQLite\n"
                "          transaction, so a set killed midway changes nothing; then\n"
                "          recompile the policy index, which the hook decides from\n"
                "show      print the stored policy as it was set\n"
                "validate  check POLICY.json and name the field and the problem when invalid\n"
                "\n"
                "  --db FILE   policy database (default " PG_DEFAULT_DB "; created if missing,\n"
                "              mode 0600 in a directory created 0700)\n"
                "  --index FILE  policy index (default: beside the database, X.db -> X.idx)\n"
                "  -h, --help  show this help\n");
}

static int
load_policy_file (const char *path, char **text, struct pg_policy **policy, pg_error_t *err)
{
  size_t len = 0;
  if (read_all_file (path, PG_MAX_POLICY_SIZE, text, &len, err) < 0)
    return -1;
  return policy_parse (*text, len, path, policy, err);
}

static int
policy_validate (const char *path)
{
  cleanup_free char *text = NULL;
  cleanup_policy struct pg_policy *policy = NULL;
  pg_error_t err = NULL;
  if (load_policy_file (path, &text, &policy, &err) < 0)
    return cli_fail (&err);
  printf ("%s: valid policy %s (%zu scopes, %zu waivers, %zu minimum versions)\n", path, policy->version,
          policy->n_scopes, policy->n_waivers, policy->n_min_versions);
  for (size_t i = 0; i < policy->n_scopes; i++)
    if (scope_is_softer (&policy->scopes[i], &policy->defaults))
      printf ("scope %s is softer than the defaults: it applies only to images scanned under a repository it "
              "matches, or to a namespace a CRI engine set, never through an image's local name\n",
              policy->scopes[i].name);
  return 0;
}

static int
policy_set (const char *db, const char *index, const char *path)
{
  cleanup_free char *text = NULL;
  cleanup_policy struct pg_policy *policy = NULL;
  cleanup_store_edit struct pg_store_edit edit = PG_STORE_EDIT_INIT;
  pg_error_t err = NULL;
  int64_t now;

  if (load_policy_file (path, &text, &policy, &err) < 0 || pg_now (&now, &err) < 0)
    return cli_fail (&err);
  if (store_edit_begin (db, &edit, &err) < 0 || store_begin (edit.store, true, &err) < 0)
    return cli_fail (&err);
  if (policy_store_set (edit.store, text, policy->version, now, &err) < 0
      || store_commit (edit.store, &err) < 0)
    {
      store_rollback (edit.store);
      return cli_fail (&err);
    }
  if (store_edit_commit (&edit, &err) < 0)
    return cli_fail (&err);
  printf ("policy %s set in %s\n", policy->version, db);

  /* Committed: now the index the hook reads.  */
  return cli_refresh_index (db, index, now);
}

static int
policy_show (const char *db)
{
  cleanup_store pg_store *store = NULL;
  cleanup_free char *json = NULL;
  cleanup_free char *version = NULL;
  pg_error_t err = NULL;
  int64_t set_at = 0;
  int r;

  if (store_open (db, PG_STORE_READONLY, &store, &err) < 0)
    return cli_fail (&err);
  r = store_get_policy (store, &json, &version, &set_at, &err);
  if (r < 0)
    return cli_fail (&err);
  if (r == 0)
    {
      pg_make_error (&err, 0, "%s: no policy has been set", db);
      return cli_fail (&err);
    }
  fputs (json, stdout);
  if (json[0] && json[strlen (json) - 1] != '\n')
    putchar ('\n');
  return 0;
}

int
cmd_policy (int argc, char **argv)
{
  static const struct option opts[] = { { "db", required_argument, NULL, 'd' },
                                        { "index", required_argument, NULL, 'i' },
                                        { "help", no_argument, NULL, 'h' },
                                        { NULL, 0, NULL, 0 } };
  const char *db = PG_DEFAULT_DB;
  const char *index = NULL;
  const char *action;
  int c;

  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        db = optarg;
        break;
      case 'i':
        index = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (optind >= argc)
    {
      usage (stderr);
      return 2;
    }
  action = argv[optind];
  /* Options may also follow the action, before or after its operand:
     `policy set --db X FILE`, `policy set FILE --db X`.  getopt keeps the
     "+" of the first pass until it starts over, so start over on what
     follows the action.  */
  argc -= optind;
  argv += optind;
  optind = 0;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        db = optarg;
        break;
      case 'i':
        index = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (strcmp (action, "show") == 0 && optind == argc)
    return policy_show (db);
  if (strcmp (action, "set") == 0 && optind + 1 == argc)
    return policy_set (db, index, argv[optind]);
  if (strcmp (action, "validate") == 0 && optind + 1 == argc)
    return policy_validate (argv[optind]);
  usage (stderr);
  return 2;
}
