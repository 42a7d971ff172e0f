/**
 * What depends on a key: shown on the key page's Dependencies tab. A placeholder the dependency
 * panel replaces (buckets, objects, secrets, grants, aliases, and the key's use from the trail).
 */
import Box from "@cloudscape-design/components/box";

export function KeyDependencies({ keyArn }: { keyArn: string }) {
  return (
    <Box color="text-body-secondary" data-testid="key-dependencies">
      What depends on {keyArn} is not shown yet.
    </Box>
  );
}
