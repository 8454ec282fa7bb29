/* Data-driven identity suite: tests/unit/data/resolve/<case>/ holds
   README (what the case shows), state.json (the OCI state; "@CASE@" stands
   for the case folder), the bundle it names (config.json, maybe
   umoci.json), optional `engine` (the hook definition's --engine; absent:
   none), optional hook.json (default: containers/storage at @CASE@/storage
   and @CASE@/run, Docker at @CASE@/docker, storage.conf
   @CASE@/storage.conf), the engines' metadata trees, and expected.json:
   {"digest": "sha256:..." | null, "engine", optional "image_ref",
   "namespace", "conflict" (null: none), or "error" (a substring of the
   error resolve_identity must fail with)}.  Then storage.conf parsing and
   the hook config's engine keys.  */
#include "suite.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"
#include "base/json.h"

#define DEFAULT_HOOK_JSON                                                                                    \
  "{\"storage_conf\": \"@CASE@/storage.conf\", \"storage_graphroot\": \"@CASE@/storage\","                   \
  " \"storage_runroot\": \"@CASE@/run\", \"docker_root\": \"@CASE@/docker\"}"

/* TEXT with every @CASE@ replaced by DIR.  */
static char *
subst (const char *text, const char *dir)
{
  char *out = xstrdup ("");
  const char *p = text, *at;

  while ((at = strstr (p, "@CASE@")))
    {
      char *n = NULL;
      xasprintf (&n, "%s%.*s%s", out, (int) (at - p), p, dir);
      free (out);
      out = n;
      p = at + 6;
    }
  {
    char *n = NULL;
    xasprintf (&n, "%s%s", out, p);
    free (out);
    out = n;
  }
  return out;
}

/* TEXT written to a temp file; returns its path.  */
static char *
temp_file (const char *text)
{
  char *path = xstrdup ("/tmp/patchgate-test-XXXXXX");
  int fd = mkstemp (path);
  size_t len = strlen (text);
  if (fd < 0 || write (fd, text, len) != (ssize_t) len)
    fail_msg ("cannot write a temp file");
  close (fd);
  return path;
}

static void
load_config (const char *dir, struct pg_hook_config *cfg)
{
  cleanup_free char *raw = suite_text (dir, "hook.json");
  cleanup_free char *text = subst (raw ? raw : DEFAULT_HOOK_JSON, dir);
  cleanup_free char *path = temp_file (text);
  pg_error_t err = NULL;
  cleanup_free char *engine = suite_text (dir, "engine");
  int r = hook_config_load (path, cfg, &err);
  unlink (path);
  if (r < 0)
    fail_msg ("%s: hook config: %s", dir, err->msg);
  /* What `patchgate-hook --engine NAME` sets.  */
  if (engine)
    {
      engine[strcspn (engine, "\n")] = '\0';
      cfg->engine = xstrdup (engine);
    }
}

static void
expect_str (const char *name, const char *what, json_t *ej, const char *got)
{
  json_t *want = json_object_get (ej, what);
  if (want == NULL)
    return;
  if (json_is_null (want) && got == NULL)
    return;
  if (json_is_null (want))
    fail_msg ("%s: %s: expected none, got %s", name, what, got);
  if (got == NULL || strcmp (json_string_value (want), got) != 0)
    fail_msg ("%s: %s: expected %s, got %s", name, what, json_string_value (want), got ? got : "(null)");
}

static void
run_case (const char *dir, const char *name)
{
  cleanup_json json_t *ej = suite_json (dir, "expected.json", true);
  cleanup_free char *raw = suite_text (dir, "state.json");
  cleanup_free char *state = subst (raw, dir);
  const char *want_err = pg_json_string (ej, "error");
  struct pg_hook_config cfg;
  struct pg_oci_state st;
  struct pg_identity id;
  pg_error_t err = NULL;
  int r;

  load_config (dir, &cfg);
  if (oci_state_parse (state, strlen (state), "state.json", &st, &err) < 0)
    fail_msg ("%s: state: %s", name, err->msg);
  r = resolve_identity (&cfg, &st, &id, &err);
  if (want_err)
    {
      if (r == 0)
        fail_msg ("%s: expected an error with `%s`, got digest %s", name, want_err, id.digest);
      if (strstr (err->msg, want_err) == NULL)
        fail_msg ("%s: error `%s` lacks `%s`", name, err->msg, want_err);
      pg_error_release (&err);
    }
  else
    {
      if (r < 0)
        fail_msg ("%s: %s", name, err->msg);
      expect_str (name, "digest", ej, id.digest);
      expect_str (name, "engine", ej, id.engine);
      expect_str (name, "image_ref", ej, id.image_ref);
      expect_str (name, "namespace", ej, id.namespace);
      expect_str (name, "conflict", ej, id.conflict);
    }
  identity_free (&id);
  oci_state_free (&st);
  hook_config_free (&cfg);
}

static void
test_resolve_case (void **state)
{
  const char *dir = *state;
  run_case (dir, strrchr (dir, '/') + 1);
}

static void
parse_conf (const char *text, struct pg_storage_conf *sc)
{
  cleanup_free char *path = temp_file (text);
  pg_error_t err = NULL;
  int r = storage_conf_parse (path, sc, &err);
  unlink (path);
  if (r < 0)
    fail_msg ("storage.conf: %s", err->msg);
}

static void
test_storage_conf (void **state)
{
  struct pg_storage_conf sc;
  pg_error_t err = NULL;

  parse_conf ("# comment\n"
              "[storage]\n"
              "  driver = \"overlay2\"   # alias\n"
              "runroot = '/run/x'\n"
              "graphroot = \"/var/lib/\\\"q\\\"\"\n"
              "[storage.options]\n"
              "graphroot = \"/not/this\"\n"
              "additionalimagestores = [\n"
              "]\n",
              &sc);
  assert_string_equal (sc.driver, "overlay");
  assert_string_equal (sc.runroot, "/run/x");
  assert_string_equal (sc.graphroot, "/var/lib/\"q\"");
  storage_conf_free (&sc);

  /* Outside [storage], relative roots, empty and odd values: defaults.  */
  parse_conf ("graphroot = \"/top/level\"\n[storage]\ngraphroot = \"relative\"\ndriver = \"\"\nrunroot = 5\n",
              &sc);
  assert_string_equal (sc.graphroot, "/var/lib/containers/storage");
  assert_string_equal (sc.runroot, "/run/containers/storage");
  assert_null (sc.driver);
  storage_conf_free (&sc);

  /* A missing file is the defaults.  */
  assert_int_equal (storage_conf_parse ("/nonexistent/storage.conf", &sc, &err), 0);
  assert_string_equal (sc.graphroot, "/var/lib/containers/storage");
  storage_conf_free (&sc);
}

static int
config_text (const char *text, struct pg_hook_config *cfg, pg_error_t *err)
{
  cleanup_free char *path = temp_file (text);
  int r = hook_config_load (path, cfg, err);
  unlink (path);
  return r;
}

static void
test_config_engine_keys (void **state)
{
  struct pg_hook_config cfg;
  pg_error_t err = NULL;

  assert_int_equal (
      config_text ("{\"storage_driver\": \"overlay2\", \"storage_graphroot\": \"/g\", "
                   "\"storage_runroot\": \"/r\", \"storage_conf\": \"/c\", \"docker_root\": \"/d\", "
                   "\"runtime_path\": \"/usr/sbin/runc\"}",
                   &cfg, &err),
      0);
  assert_string_equal (cfg.storage_driver, "overlay");
  assert_string_equal (cfg.storage_graphroot, "/g");
  assert_string_equal (cfg.storage_runroot, "/r");
  assert_string_equal (cfg.storage_conf, "/c");
  assert_string_equal (cfg.docker_root, "/d");
  assert_string_equal (cfg.runtime_path, "/usr/sbin/runc");
  hook_config_free (&cfg);

  assert_int_equal (config_text ("{\"storage_driver\": \"../vfs\"}", &cfg, &err), -1);
  assert_non_null (strstr (err->msg, "storage_driver"));
  pg_error_release (&err);
  hook_config_free (&cfg);
  assert_int_equal (config_text ("{\"docker_root\": \"var/lib/docker\"}", &cfg, &err), -1);
  assert_non_null (strstr (err->msg, "docker_root: must be an absolute path"));
  pg_error_release (&err);
  hook_config_free (&cfg);
  assert_int_equal (config_text ("{\"runtime_path\": 1}", &cfg, &err), -1);
  pg_error_release (&err);
  hook_config_free (&cfg);
}

int
main (void)
{
  cleanup_free char *root = suite_path ("tests/unit/data/resolve");
  size_t n;
  char **cases = suite_cases (root, &n);
  struct CMUnitTest *tests = xmalloc0 ((n + 2) * sizeof (*tests));
  int ret;

  for (size_t i = 0; i < n; i++)
    {
      char *dir = NULL;
      xasprintf (&dir, "%s/%s", root, cases[i]);
      tests[i]
          = (struct CMUnitTest){ .name = cases[i], .test_func = test_resolve_case, .initial_state = dir };
    }
  tests[n] = (struct CMUnitTest){ .name = "storage_conf", .test_func = test_storage_conf };
  tests[n + 1] = (struct CMUnitTest){ .name = "config_engine_keys", .test_func = test_config_engine_keys };
  ret = _cmocka_run_group_tests ("resolve", tests, n + 2, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
