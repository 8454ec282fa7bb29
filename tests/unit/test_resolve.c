/* Data-driven identity suite: tests/unit/data/resolve/<case>/ holds
   README (what the case shows), state.json (the OCI state; "@CASE@" stands
   for the case folder), the bundle it names (config.json, maybe
   umoci.json), optional `engine` (the hook definition's --engine; absent:
   none), optional hook.json (default: containers/storage at @CASE@/storage
   and @CASE@/run, Docker at @CASE@/docker, storage.conf
   @CASE@/storage.conf), the engines' metadata trees, and expected.json:
   {"digest": "sha256:..." | null, "engine", optional "image_ref",
   "namespace", "conflict" (null: none), or "error" (a substring of the
   error resolve_identity must fail with)}.  Then storage.conf parsing,
   the hook config's engine keys, an oversized store and large ones read
   in windows.  */
#include "suite.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"
#include "base/json.h"

#include <fcntl.h>

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

/* TEXT into DIR/REL, its directories made.  */
static void
put_file (const char *dir, const char *rel, const char *text)
{
  cleanup_free char *path = NULL;
  cleanup_free char *cmd = NULL;
  FILE *f;

  xasprintf (&path, "%s/%s", dir, rel);
  xasprintf (&cmd, "mkdir -p \"$(dirname '%s')\"", path);
  if (system (cmd) != 0 || (f = fopen (path, "w")) == NULL)
    fail_msg ("cannot write %s", path);
  fputs (text, f);
  fclose (f);
}

#define C1 "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

/* A containers.json one byte over PG_MAX_METADATA_SIZE (sparse), in the
   engine's compact form with the container's record first: refused by its
   size before anything is read or mapped, as it always was.  */
static void
test_storage_oversized (void **state)
{
  char dir[] = "/tmp/patchgate-storage-XXXXXX";
  cleanup_free char *path = NULL;
  cleanup_free char *cmd = NULL;
  static const char head[] = "[{\"id\":\"" C1 "\",\"image\":\"" C1 "\",\"layer\":\"" C1 "\"},";
  int fd;

  assert_non_null (mkdtemp (dir));
  put_file (dir, "engine", "podman\n");
  put_file (dir, "expected.json", "{\"error\": \"larger than the limit of 67108864 bytes\"}");
  put_file (dir, "state.json",
            "{\"ociVersion\": \"1.0.2\", \"id\": \"" C1 "\", \"status\": \"creating\", \"pid\": 1,"
            " \"bundle\": \"@CASE@/storage/overlay-containers/" C1 "/userdata\"}");
  put_file (dir, "storage/overlay-containers/" C1 "/userdata/config.json",
            "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}}");
  put_file (dir, "storage/overlay-containers/containers.json", head);
  xasprintf (&path, "%s/storage/overlay-containers/containers.json", dir);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (ftruncate (fd, (off_t) PG_MAX_METADATA_SIZE + 1), 0);
  assert_int_equal (pwrite (fd, "}]", 2, (off_t) PG_MAX_METADATA_SIZE - 1), 2);
  close (fd);
  run_case (dir, "storage_oversized");
  xasprintf (&cmd, "rm -rf '%s'", dir);
  assert_int_equal (system (cmd), 0);
}

#define A1 "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
#define E5 "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5"
#define EE "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

struct text
{
  char *s;
  size_t len;
};

static void
text_add (struct text *t, const char *fmt, ...)
{
  va_list ap;
  char *more = NULL;
  int n;

  va_start (ap, fmt);
  n = vasprintf (&more, fmt, ap);
  va_end (ap);
  assert_true (n >= 0);
  t->s = realloc (t->s, t->len + (size_t) n + 1);
  assert_non_null (t->s);
  memcpy (t->s + t->len, more, (size_t) n + 1);
  t->len += (size_t) n;
  free (more);
}

/* Other containers' records, in the engine's compact form, until T is AT
   bytes long; FLAGS (may be "") goes into the first one's flags.  */
static void
text_fill (struct text *t, size_t at, const char *flags)
{
  static unsigned serial;
  const char *rec
      = "{\"id\":\"%064x\",\"names\":[\"%s\"],\"image\":\"" E5 "\",\"layer\":\"" EE "\",\"flags\":{%s}},";
  size_t base = strlen (rec) - strlen ("%064x%s%s") + 64 + strlen (flags);
  cleanup_free char *pad = xmalloc0 (at + 1001);

  assert_true (at >= t->len + base);
  while (at - t->len > 2 * base + 1000)
    {
      memset (pad, 'n', 1000);
      pad[1000] = '\0';
      text_add (t, rec, ++serial, pad, flags);
      flags = "";
    }
  base = strlen (rec) - strlen ("%064x%s%s") + 64 + strlen (flags);
  memset (pad, 'n', at - t->len - base);
  pad[at - t->len - base] = '\0';
  text_add (t, rec, ++serial, pad, flags);
  assert_int_equal (t->len, at);
}

/* A store of about 800 KB (containers/storage's form, searched from the
   end in windows of 64 and 256 KiB) with container C1's record starting AT bytes
   in; FLAGS in the first other record's flags, AFTER in the first record
   after C1's; DUP_AT: a second record of C1 (image E5) that many bytes in
   (0: none).  */
static void
big_store_case (const char *name, size_t at, const char *flags, const char *after, size_t dup_at,
                const char *expected)
{
  char dir[] = "/tmp/patchgate-storage-XXXXXX";
  cleanup_free char *cmd = NULL;
  struct text t = { xstrdup ("["), 1 };

  assert_non_null (mkdtemp (dir));
  if (at > t.len)
    text_fill (&t, at, flags);
  text_add (&t, "{\"id\":\"" C1 "\",\"names\":[\"web\"],\"image\":\"" A1 "\",\"layer\":\"" EE
                "\",\"metadata\":\"{\\\"image-name\\\":\\\"localhost/app:dev\\\"}\"},");
  if (dup_at)
    {
      text_fill (&t, dup_at, "");
      text_add (&t, "{\"id\":\"" C1 "\",\"image\":\"" E5 "\",\"layer\":\"" EE "\"},");
    }
  text_fill (&t, 800000, after);
  t.s[t.len - 1] = ']';
  put_file (dir, "engine", "podman\n");
  put_file (dir, "expected.json", expected);
  put_file (dir, "state.json",
            "{\"ociVersion\": \"1.0.2\", \"id\": \"" C1 "\", \"status\": \"creating\", \"pid\": 1,"
            " \"bundle\": \"@CASE@/storage/overlay-containers/" C1 "/userdata\"}");
  put_file (dir, "storage/overlay-containers/" C1 "/userdata/config.json",
            "{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"}}");
  put_file (dir, "storage/overlay-containers/containers.json", t.s);
  free (t.s);
  run_case (dir, name);
  xasprintf (&cmd, "rm -rf '%s'", dir);
  assert_int_equal (system (cmd), 0);
}

/* The store is searched from its end a window (64 KiB, then 256 KiB) at a time: a
   record whose first bytes straddle two windows is found, the oldest and
   the newest record too; of two records of C1 the last counts, as does
   the array's record when the same bytes open an engine's nested object
   before it; when they open one after it, the whole file is parsed.  */
static void
test_storage_windows (void **state)
{
  static const char found[] = "{\"digest\": \"sha256:" A1 "\", \"image_ref\": \"localhost/app:dev\"}";
  static const char nested[] = "\"x\":[{\"id\":\"" C1 "\",\"image\":\"" E5 "\",\"layer\":\"" EE "\"}]";
  /* C1's {"id":"<C1>" spans the end of a window.  */
  big_store_case ("straddle", (256u << 10) - 20, "", "", 0, found);
  big_store_case ("window_start", 256u << 10, "", "", 0, found);
  big_store_case ("last_bytes_of_window", (256u << 10) - 1, "", "", 0, found);
  big_store_case ("oldest", 1, "", "", 0, found);
  big_store_case ("newest", 799000, "", "", 0, found);
  big_store_case ("duplicate_later_window", 1000, "", "", 600000,
                  "{\"digest\": \"sha256:" E5 "\", \"image_ref\": null}");
  big_store_case ("nested_then_record", 600000, nested, "", 0, found);
  big_store_case ("record_then_nested", 1000, "", nested, 0, found);
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

  /* Multi-line strings are TOML strings; a file that is not TOML (an
     unterminated string) is an error, not the defaults.  */
  parse_conf ("[storage]\ngraphroot = \"\"\"/multi\"\"\"\n", &sc);
  assert_string_equal (sc.graphroot, "/multi");
  storage_conf_free (&sc);
  {
    cleanup_free char *path = temp_file ("[storage]\ngraphroot = \"/x\n");
    assert_int_equal (storage_conf_parse (path, &sc, &err), -1);
    unlink (path);
    assert_non_null (strstr (err->msg, "storage.conf"));
    pg_error_release (&err);
  }
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
  struct CMUnitTest *tests = xmalloc0 ((n + 4) * sizeof (*tests));
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
  tests[n + 2] = (struct CMUnitTest){ .name = "storage_oversized", .test_func = test_storage_oversized };
  tests[n + 3] = (struct CMUnitTest){ .name = "storage_windows", .test_func = test_storage_windows };
  ret = _cmocka_run_group_tests ("resolve", tests, n + 4, NULL, NULL);
  for (size_t i = 0; i < n; i++)
    free (tests[i].initial_state);
  free (tests);
  strv_free (cases, n);
  return ret;
}
