/* Bounded, safe input: base/safe_open.h on a planted tree (a bundle and a
   fake rootfs full of absolute, relative and ".." symlinks, loops, a FIFO),
   with openat2 and with the fallback walk; JSON limits (depth, value count,
   NUL); the annotation cap; the hook config's `timeout` and `test_clock`,
   which never take the config or the clock from the environment; and which
   annotations may name a Kubernetes namespace.  */
#include "suite.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"
#include "base/safe_open.h"
#include "base/clock.h"
#include "deadline.h"
#include "base/json.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

static char top[] = "/tmp/patchgate-hardening-XXXXXX";

static void
put (const char *rel, const char *content)
{
  cleanup_free char *p = NULL;
  FILE *f;
  xasprintf (&p, "%s/%s", top, rel);
  f = fopen (p, "w");
  if (f == NULL)
    fail_msg ("%s: %s", p, strerror (errno));
  fputs (content, f);
  fclose (f);
}

static void
dir (const char *rel)
{
  cleanup_free char *p = NULL;
  xasprintf (&p, "%s/%s", top, rel);
  if (mkdir (p, 0755) < 0)
    fail_msg ("%s: %s", p, strerror (errno));
}

static void
link_ (const char *target, const char *rel)
{
  cleanup_free char *p = NULL;
  cleanup_free char *t = NULL;
  xasprintf (&p, "%s/%s", top, rel);
  /* "@TOP@" stands for the tree's absolute path.  */
  if (strncmp (target, "@TOP@", 5) == 0)
    xasprintf (&t, "%s%s", top, target + 5);
  else
    t = xstrdup (target);
  if (symlink (t, p) < 0)
    fail_msg ("%s: %s", p, strerror (errno));
}

static int
setup (void **state)
{
  if (mkdtemp (top) == NULL)
    return -1;
  /* The host: a file the hook must never read through a planted link. */
  dir ("host");
  put ("host/umoci.json", "HOST");
  put ("host/os-release", "HOST");
  /* A bundle.  */
  dir ("bundle");
  put ("bundle/config.json", "BUNDLE");
  put ("bundle/empty", "");
  dir ("bundle/sub");
  put ("bundle/sub/file", "SUB");
  link_ ("@TOP@/host/umoci.json", "bundle/abs");
  link_ ("../host/umoci.json", "bundle/rel");
  link_ ("sub/file", "bundle/inside");
  link_ ("sub", "bundle/dirlink");
  link_ ("loop2", "bundle/loop1");
  link_ ("loop1", "bundle/loop2");
  link_ ("self", "bundle/self");
  link_ ("/proc/self/root/etc/hostname", "bundle/magic");
  {
    cleanup_free char *p = NULL;
    xasprintf (&p, "%s/bundle/fifo", top);
    if (mkfifo (p, 0600) < 0)
      return -1;
  }
  /* A fake rootfs: its absolute links mean its own root.  */
  dir ("rootfs");
  dir ("rootfs/etc");
  put ("rootfs/etc/os-release", "ROOTFS");
  link_ ("/etc/os-release", "rootfs/abs");
  link_ ("../../../../../../etc/os-release", "rootfs/up");
  link_ ("../host/os-release", "rootfs/rel-escape");
  link_ ("l2", "rootfs/l1");
  link_ ("l1", "rootfs/l2");
  link_ ("/proc/self/root/etc/hostname", "rootfs/magic");
  return 0;
}

static int
teardown (void **state)
{
  cleanup_free char *cmd = NULL;
  xasprintf (&cmd, "rm -rf '%s'", top);
  return system (cmd) == 0 ? 0 : -1;
}

static int
open_dir (const char *rel)
{
  cleanup_free char *p = NULL;
  int fd;
  xasprintf (&p, "%s/%s", top, rel);
  fd = open (p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    fail_msg ("%s: %s", p, strerror (errno));
  return fd;
}

/* The content read through PATH, or NULL with *E the errno.  */
static char *
read_via (int dfd, const char *path, enum pg_resolve how, int *e)
{
  char buf[64];
  int fd = pg_safe_openat (dfd, path, O_RDONLY | O_NONBLOCK, how);
  ssize_t n;
  *e = errno;
  if (fd < 0)
    return NULL;
  n = read (fd, buf, sizeof (buf) - 1);
  close (fd);
  buf[n > 0 ? n : 0] = '\0';
  return xstrdup (buf);
}

static void
expect_content (int dfd, const char *path, enum pg_resolve how, const char *want)
{
  int e = 0;
  cleanup_free char *got = read_via (dfd, path, how, &e);
  if (got == NULL)
    fail_msg ("%s: expected %s, got error %s", path, want, strerror (e));
  if (strcmp (got, want) != 0)
    fail_msg ("%s: expected %s, got %s", path, want, got);
}

static void
expect_refused (int dfd, const char *path, enum pg_resolve how)
{
  int e = 0;
  cleanup_free char *got = read_via (dfd, path, how, &e);
  if (got)
    fail_msg ("%s: must be refused, read \"%s\"", path, got);
  if (e != ELOOP && e != EXDEV && e != ENOTDIR)
    fail_msg ("%s: refused with %s, expected ELOOP, EXDEV or ENOTDIR", path, strerror (e));
}

/* The bundle: no symlink is ever followed, nothing leaves it.  */
static void
check_beneath (void)
{
  cleanup_close int b = open_dir ("bundle");
  static const char *const refused[]
      = { "abs", "rel", "inside", "dirlink/file", "loop1", "self", "magic", "sub/../../host/umoci.json" };

  expect_content (b, "config.json", PG_RESOLVE_BENEATH, "BUNDLE");
  expect_content (b, "sub/file", PG_RESOLVE_BENEATH, "SUB");
  expect_content (b, "./sub/./file", PG_RESOLVE_BENEATH, "SUB");
  for (size_t i = 0; i < sizeof (refused) / sizeof (refused[0]); i++)
    expect_refused (b, refused[i], PG_RESOLVE_BENEATH);
  assert_int_equal (pg_safe_openat (b, "/etc/hostname", O_RDONLY, PG_RESOLVE_BENEATH), -1);
  assert_int_equal (pg_safe_openat (b, "config.json", O_RDWR | O_CREAT, PG_RESOLVE_BENEATH), -1);
}

static void
test_beneath_openat2 (void **state)
{
  pg_safe_open_force_fallback (false);
  check_beneath ();
  /* Else the walk above ran the fallback, and this test proved nothing of
     openat2 (the kernels this runs on have it: 5.6 and later).  */
  if (!pg_safe_open_has_openat2 ())
    fail_msg ("openat2(2) was refused here: the fallback walk ran instead");
}

static void
test_beneath_fallback (void **state)
{
  pg_safe_open_force_fallback (true);
  check_beneath ();
  pg_safe_open_force_fallback (false);
}

/* A rootfs: its absolute links and ".." resolve inside it (openat2), or
   are refused (the fallback); the host's files are never read.  */
static void
test_in_root (void **state)
{
  cleanup_close int r = open_dir ("rootfs");

  pg_safe_open_force_fallback (false);
  expect_content (r, "etc/os-release", PG_RESOLVE_IN_ROOT, "ROOTFS");
  expect_content (r, "abs", PG_RESOLVE_IN_ROOT, "ROOTFS");
  expect_content (r, "up", PG_RESOLVE_IN_ROOT, "ROOTFS");
  expect_content (r, "../../etc/os-release", PG_RESOLVE_IN_ROOT, "ROOTFS");
  expect_refused (r, "l1", PG_RESOLVE_IN_ROOT);
  {
    /* /proc/self/root/... means the rootfs's own /proc: nothing there.  */
    int e = 0;
    cleanup_free char *got = read_via (r, "magic", PG_RESOLVE_IN_ROOT, &e);
    assert_null (got);
  }
  {
    /* "../host/os-release" from the root is the root's own /host.  */
    int e = 0;
    cleanup_free char *got = read_via (r, "rel-escape", PG_RESOLVE_IN_ROOT, &e);
    assert_null (got);
    assert_int_equal (e, ENOENT);
  }

  pg_safe_open_force_fallback (true);
  expect_content (r, "etc/os-release", PG_RESOLVE_IN_ROOT, "ROOTFS");
  expect_refused (r, "abs", PG_RESOLVE_IN_ROOT);
  expect_refused (r, "up", PG_RESOLVE_IN_ROOT);
  expect_refused (r, "rel-escape", PG_RESOLVE_IN_ROOT);
  expect_refused (r, "l1", PG_RESOLVE_IN_ROOT);
  expect_refused (r, "../../etc/os-release", PG_RESOLVE_IN_ROOT);
  pg_safe_open_force_fallback (false);
}

/* pg_safe_read_file: absent is 0; a FIFO is refused without waiting for a
   writer; a symlink is an error naming the refusal; a size cap.  */
static void
test_read_file (void **state)
{
  cleanup_close int b = open_dir ("bundle");
  pg_error_t err = NULL;
  char *buf = NULL;
  size_t len = 0;

  assert_int_equal (pg_safe_read_file (b, "config.json", PG_RESOLVE_BENEATH, 100, "c", &buf, &len, &err), 1);
  assert_string_equal (buf, "BUNDLE");
  free (buf);
  buf = NULL;
  assert_int_equal (pg_safe_read_file (b, "nope.json", PG_RESOLVE_BENEATH, 100, "n", &buf, &len, &err), 0);
  assert_int_equal (pg_safe_read_file (b, "fifo", PG_RESOLVE_BENEATH, 100, "fifo", &buf, &len, &err), -1);
  assert_non_null (strstr (err->msg, "not a regular file"));
  pg_error_release (&err);
  assert_int_equal (pg_safe_read_file (b, "abs", PG_RESOLVE_BENEATH, 100, "abs", &buf, &len, &err), -1);
  assert_non_null (strstr (err->msg, "refused"));
  pg_error_release (&err);
  assert_int_equal (pg_safe_read_file (b, "config.json", PG_RESOLVE_BENEATH, 3, "small", &buf, &len, &err),
                    -1);
  assert_non_null (strstr (err->msg, "larger than the limit"));
  pg_error_release (&err);
  assert_null (buf);
}

/* pg_safe_map_file: the same open and the same refusals; an empty file
   maps to nothing.  */
static void
test_map_file (void **state)
{
  cleanup_close int b = open_dir ("bundle");
  pg_error_t err = NULL;
  const char *map = NULL;
  size_t len = 0;

  assert_int_equal (pg_safe_map_file (b, "config.json", PG_RESOLVE_BENEATH, 100, "c", &map, &len, &err), 1);
  assert_int_equal (len, 6);
  assert_memory_equal (map, "BUNDLE", 6);
  pg_safe_unmap (map, len);
  assert_int_equal (pg_safe_map_file (b, "empty", PG_RESOLVE_BENEATH, 100, "e", &map, &len, &err), 1);
  assert_null (map);
  assert_int_equal (len, 0);
  assert_int_equal (pg_safe_map_file (b, "nope.json", PG_RESOLVE_BENEATH, 100, "n", &map, &len, &err), 0);
  assert_int_equal (pg_safe_map_file (b, "fifo", PG_RESOLVE_BENEATH, 100, "fifo", &map, &len, &err), -1);
  assert_non_null (strstr (err->msg, "not a regular file"));
  pg_error_release (&err);
  assert_int_equal (pg_safe_map_file (b, "abs", PG_RESOLVE_BENEATH, 100, "abs", &map, &len, &err), -1);
  assert_non_null (strstr (err->msg, "refused"));
  pg_error_release (&err);
  assert_int_equal (pg_safe_map_file (b, "inside", PG_RESOLVE_BENEATH, 100, "in", &map, &len, &err), -1);
  assert_non_null (strstr (err->msg, "refused"));
  pg_error_release (&err);
  assert_int_equal (pg_safe_map_file (b, "config.json", PG_RESOLVE_BENEATH, 3, "small", &map, &len, &err),
                    -1);
  assert_non_null (strstr (err->msg, "larger than the limit"));
  pg_error_release (&err);
  assert_null (map);
}

/* ---- JSON limits ---- */

static void
expect_json_error (const char *text, size_t len, const char *msg)
{
  pg_error_t err = NULL;
  json_t *j = NULL;
  if (pg_json_parse (text, len, "t", &j, &err) == 0)
    {
      json_decref (j);
      fail_msg ("accepted JSON that must fail with \"%s\"", msg);
    }
  if (strstr (err->msg, msg) == NULL)
    fail_msg ("error \"%s\" lacks \"%s\"", err->msg, msg);
  pg_error_release (&err);
}

static void
test_json_limits (void **state)
{
  size_t n = PG_MAX_JSON_VALUES + 10, len = 0;
  cleanup_free char *many = xmalloc0 (2 * n + 8);
  char deep[2 * (PG_MAX_JSON_DEPTH + 2) + 1];
  pg_error_t err = NULL;
  json_t *j = NULL;

  /* More values than PG_MAX_JSON_VALUES: refused before parsing.  */
  many[len++] = '[';
  for (size_t i = 0; i < n; i++)
    {
      many[len++] = '0';
      many[len++] = ',';
    }
  many[len - 1] = ']';
  expect_json_error (many, len, "more than 1000000 values");
  /* Commas inside strings are not values.  */
  assert_int_equal (pg_json_count_values ("[\"a,b,c\", {\"k\": [1, 2]}]", 24), 6);
  /* The end of the object that opens a text: brackets in strings (escaped
     quotes too) do not count; not closed, or not an object: 0.  */
  assert_int_equal (pg_json_container_end ("{\"a\":\"}\\\"]\",\"b\":[{}]},{", 23), 21);
  assert_int_equal (pg_json_container_end ("{\"a\":[}", 7), 0);
  assert_int_equal (pg_json_container_end ("\"{}\"", 4), 0);
  assert_int_equal (pg_json_container_end ("", 0), 0);

  /* Nesting.  */
  memset (deep, '[', PG_MAX_JSON_DEPTH + 2);
  memset (deep + PG_MAX_JSON_DEPTH + 2, ']', PG_MAX_JSON_DEPTH + 2);
  expect_json_error (deep, 2 * (PG_MAX_JSON_DEPTH + 2), "nested deeper");
  assert_int_equal (pg_json_parse (deep + 2, 2 * PG_MAX_JSON_DEPTH, "ok", &j, &err), 0);
  json_decref (j);

  /* A NUL byte in a string.  */
  expect_json_error ("{\"id\": \"a\\u0000b\"}", 18, "invalid JSON");
  /* Duplicate keys (which one would a reader believe?).  */
  expect_json_error ("{\"a\": 1, \"a\": 2}", 16, "duplicate");
}

/* The state's annotations are the runtime's copy and must be strings;
   config.json is read only for its root (oci_state_is_rootfs), and a
   symlinked or malformed one is refused there, not followed.  */
static void
test_state_annotations_and_config (void **state)
{
  cleanup_free char *state_text = NULL;
  cleanup_free char *path = NULL;
  struct pg_oci_state st;
  pg_error_t err = NULL;

  dir ("plain");
  xasprintf (&state_text, "{\"id\": \"c\", \"bundle\": \"%s/plain\", \"annotations\": {\"k\": 1}}", top);
  assert_int_equal (oci_state_parse (state_text, strlen (state_text), "state", &st, &err), -1);
  assert_non_null (strstr (err->msg, "annotation `k` must be a string"));
  /* The state named its container before its annotations were refused.  */
  assert_string_equal (st.id, "c");
  oci_state_free (&st);
  pg_error_release (&err);

  /* A config.json that is a symlink is refused, not followed.  */
  dir ("linked");
  xasprintf (&path, "%s/linked/config.json", top);
  assert_int_equal (symlink ("../bundle/config.json", path), 0);
  free (state_text);
  xasprintf (&state_text, "{\"id\": \"c\", \"bundle\": \"%s/linked\"}", top);
  assert_int_equal (oci_state_parse (state_text, strlen (state_text), "state", &st, &err), 0);
  assert_int_equal (oci_state_is_rootfs (&st, top, "bundle", &err), -1);
  assert_non_null (strstr (err->msg, "refused"));
  oci_state_free (&st);
  pg_error_release (&err);

  /* A malformed one is an error, not "another rootfs".  */
  put ("plain/config.json", "{\"root\": ");
  free (state_text);
  xasprintf (&state_text, "{\"id\": \"c\", \"bundle\": \"%s/plain\"}", top);
  assert_int_equal (oci_state_parse (state_text, strlen (state_text), "state", &st, &err), 0);
  assert_int_equal (oci_state_is_rootfs (&st, top, "bundle", &err), -1);
  assert_non_null (strstr (err->msg, "invalid JSON"));
  oci_state_free (&st);
  pg_error_release (&err);
}

/* ---- the hook config's timeout ---- */

static int
load_cfg (const char *json, struct pg_hook_config *cfg, pg_error_t *err)
{
  cleanup_free char *path = NULL;
  int r;
  xasprintf (&path, "%s/hook.json", top);
  put ("hook.json", json);
  r = hook_config_load (path, cfg, err);
  return r;
}

static void
test_config_timeout (void **state)
{
  static const struct
  {
    const char *json;
    int64_t ms; /* -1: invalid */
  } cases[] = {
    { "{}", PG_DEFAULT_TIMEOUT_MS }, { "{\"timeout\": \"3s\"}", 3000 }, { "{\"timeout\": \"1m\"}", 60000 },
    { "{\"timeout\": 2.5}", 2500 },  { "{\"timeout\": 1}", 1000 },      { "{\"timeout\": 0}", -1 },
    { "{\"timeout\": -3}", -1 },     { "{\"timeout\": \"2h\"}", -1 },   { "{\"timeout\": \"soon\"}", -1 },
    { "{\"timeout\": true}", -1 },
  };

  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      struct pg_hook_config cfg;
      pg_error_t err = NULL;
      int r = load_cfg (cases[i].json, &cfg, &err);
      if (cases[i].ms < 0)
        {
          if (r == 0)
            fail_msg ("%s: accepted", cases[i].json);
          assert_non_null (strstr (err->msg, "timeout"));
        }
      else
        {
          if (r < 0)
            fail_msg ("%s: %s", cases[i].json, err->msg);
          assert_int_equal (cfg.timeout_ms, cases[i].ms);
        }
      pg_error_release (&err);
      hook_config_free (&cfg);
    }
}

/* ---- nothing inherited picks the config or sets the clock ---- */

static void
test_config_test_clock_and_env (void **state)
{
  struct pg_hook_config cfg;
  pg_error_t err = NULL;
  cleanup_free char *path = NULL;
  bool from_env = true;
  int64_t now = 0;

  assert_int_equal (load_cfg ("{}", &cfg, &err), 0);
  assert_false (cfg.test_clock);
  hook_config_free (&cfg);
  assert_int_equal (load_cfg ("{\"test_clock\": true}", &cfg, &err), 0);
  assert_true (cfg.test_clock);
  hook_config_free (&cfg);
  assert_int_equal (load_cfg ("{\"test_clock\": \"yes\"}", &cfg, &err), -1);
  assert_non_null (strstr (err->msg, "test_clock"));
  pg_error_release (&err);
  hook_config_free (&cfg);

  /* The hook's loader never reads PATCHGATE_CONFIG; the admin tools'
     choice of path does.  */
  xasprintf (&path, "%s/hook.json", top);
  setenv ("PATCHGATE_CONFIG", path, 1);
  if (hook_config_load (NULL, &cfg, &err) == 0)
    assert_true (cfg.path == NULL || strcmp (cfg.path, path) != 0);
  pg_error_release (&err);
  hook_config_free (&cfg);
  assert_string_equal (hook_config_env_path (NULL), path);
  assert_string_equal (hook_config_env_path ("/x.json"), "/x.json");
  unsetenv ("PATCHGATE_CONFIG");
  assert_null (hook_config_env_path (NULL));

  /* The clock: PATCHGATE_NOW only through pg_now_env, which says so.  */
  setenv ("PATCHGATE_NOW", "2000-01-01T00:00:00Z", 1);
  assert_int_equal (pg_now_env (&now, &from_env, &err), 0);
  assert_true (from_env);
  assert_int_equal (now, 946684800);
  assert_true (pg_real_now () > 946684800 + 86400);
  setenv ("PATCHGATE_NOW", "garbage", 1);
  assert_int_equal (pg_now_env (&now, &from_env, &err), -1);
  assert_non_null (strstr (err->msg, "PATCHGATE_NOW"));
  pg_error_release (&err);
  unsetenv ("PATCHGATE_NOW");
  assert_int_equal (pg_now_env (&now, &from_env, &err), 0);
  assert_false (from_env);
}

/* ---- which annotations name a namespace ---- */

static void
test_trusted_namespace (void **state)
{
  static const struct
  {
    const char *engine;
    const char *annotations;
    const char *want;
  } cases[] = {
    /* CRI-O writes io.kubernetes.pod.namespace itself.  */
    { "crio", "{\"io.kubernetes.pod.namespace\": \"kube-system\"}", "kube-system" },
    /* containerd writes its own key; io.kubernetes.pod.namespace there is
       a passed-through pod annotation.  */
    { "containerd", "{\"io.kubernetes.pod.namespace\": \"kube-system\"}", NULL },
    { "containerd",
      "{\"io.kubernetes.pod.namespace\": \"kube-system\", \"io.kubernetes.cri.sandbox-namespace\": \"team\"}",
      "team" },
    /* No Kubernetes here: whoever wrote the bundle wrote the key.  */
    { "runc", "{\"io.kubernetes.pod.namespace\": \"kube-system\"}", NULL },
    { "podman", "{\"io.kubernetes.pod.namespace\": \"kube-system\"}", NULL },
    { "docker", "{\"io.kubernetes.pod.namespace\": \"kube-system\"}", NULL },
    { "crio", "{\"io.kubernetes.pod.namespace\": \"\"}", NULL },
  };

  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      struct pg_oci_state st = { 0 };
      struct pg_identity id = { 0 };
      cleanup_free char *got = NULL;
      st.annotations = json_loads (cases[i].annotations, 0, NULL);
      id.engine = cases[i].engine;
      /* As resolve_identity sets it once the engine is proven a CRI one.  */
      id.cri = strcmp (cases[i].engine, "crio") == 0 || strcmp (cases[i].engine, "containerd") == 0;
      got = resolve_trusted_namespace (&st, &id);
      if ((got == NULL) != (cases[i].want == NULL) || (got && strcmp (got, cases[i].want) != 0))
        fail_msg ("%s %s: namespace %s, expected %s", cases[i].engine, cases[i].annotations,
                  got ? got : "(none)", cases[i].want ? cases[i].want : "(none)");
      json_decref (st.annotations);
    }
  /* CRI-O's name alone, without its record proving it, counts for nothing.  */
  {
    struct pg_oci_state st = { 0 };
    struct pg_identity id = { .engine = "crio", .cri = false };
    st.annotations = json_loads ("{\"io.kubernetes.pod.namespace\": \"kube-system\"}", 0, NULL);
    assert_null (resolve_trusted_namespace (&st, &id));
    json_decref (st.annotations);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_beneath_openat2),   cmocka_unit_test (test_beneath_fallback),
    cmocka_unit_test (test_in_root),           cmocka_unit_test (test_read_file),
    cmocka_unit_test (test_json_limits),       cmocka_unit_test (test_state_annotations_and_config),
    cmocka_unit_test (test_config_timeout),    cmocka_unit_test (test_config_test_clock_and_env),
    cmocka_unit_test (test_trusted_namespace), cmocka_unit_test (test_map_file),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
