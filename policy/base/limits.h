/* patchgate: input bounds.  */
#ifndef PATCHGATE_LIMITS_H
#define PATCHGATE_LIMITS_H

/* Input bounds: everything read from outside is capped.  */
#define PG_MAX_STATE_SIZE (1u << 20)
#define PG_MAX_CONFIG_SIZE (16u << 20)
#define PG_MAX_HOOK_CONFIG_SIZE (1u << 20)
#define PG_MAX_POLICY_SIZE (16u << 20)
#define PG_MAX_REPORT_SIZE (512u << 20)
#define PG_MAX_METADATA_SIZE (64u << 20)
#define PG_MAX_JSON_DEPTH 64
/* Values (scalars, arrays, objects) in one JSON document the hook or the
   policy parser reads: jansson spends some 60 bytes on each, so this bounds
   its memory to tens of MB whatever the byte size.  Reports, which are
   larger and come from the admin, have their own cap.  */
#define PG_MAX_JSON_VALUES 1000000u
#define PG_MAX_REPORT_JSON_VALUES 40000000u

#endif
