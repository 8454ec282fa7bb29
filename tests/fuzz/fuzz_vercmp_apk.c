/* apk's version order (version/version_apk.c); see fuzz_version_order.  */
#include "version/version.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  return fuzz_version_order (PG_VERSION_APK, data, len);
}
