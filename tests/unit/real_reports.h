/* Every real scanner report in ../shared/testdata/reports (Grype and
   Trivy) imported into one store, as test_index.c and test_expiring.c
   decide over them.  Header-only, as eval_case.h.  */
#ifndef PATCHGATE_TEST_REAL_REPORTS_H
#define PATCHGATE_TEST_REAL_REPORTS_H

#include "suite.h"
#include "import/import.h"

static void
import_real_reports (pg_store *store)
{
  const char *dirs[] = { "grype", "trivy" };
  size_t imported = 0;
  for (size_t d = 0; d < 2; d++)
    {
      cleanup_free char *root = suite_path ("../shared/testdata/reports/%s", dirs[d]);
      size_t n;
      char **files = suite_cases (root, &n);
      for (size_t i = 0; i < n; i++)
        {
          cleanup_free char *path = NULL;
          pg_error_t err = NULL;
          char *paths[1];
          xasprintf (&path, "%s/%s", root, files[i]);
          paths[0] = path;
          /* Some reports are refused by design (legacy Trivy output).  */
          if (import_paths (store, paths, 1, 1700000000, NULL, &err) < 0)
            pg_error_release (&err);
          else
            imported++;
        }
      strv_free (files, n);
    }
  assert_true (imported >= 8);
}

#endif
