/** A choice of KMS key for a secret: its AWS managed key or a customer managed key by alias. */
import { useMemo } from "react";
import { KMSClient, paginateListAliases, type AliasListEntry } from "@aws-sdk/client-kms";
import Select from "@cloudscape-design/components/select";
import { useClient } from "../../aws";
import { useLoad } from "../shared/use-load";

export const MANAGED = "alias/aws/secretsmanager";

export function KeySelect({ value, onChange, managed = MANAGED }: { value: string; onChange(value: string): void; managed?: string }) {
  const kms = useClient(KMSClient);
  const aliases = useLoad(async () => {
    const all: AliasListEntry[] = [];
    for await (const page of paginateListAliases({ client: kms }, {})) all.push(...(page.Aliases ?? []));
    return all.filter((a) => a.TargetKeyId && !a.AliasName?.startsWith("alias/aws/"));
  }, [kms]);
  const options = useMemo(
    () => [
      { value: managed, label: `${managed.replace(/^alias\//, "")} (AWS managed)` },
      ...(aliases.value ?? []).map((a) => ({
        value: a.AliasName!,
        label: a.AliasName!.replace(/^alias\//, ""),
        description: a.TargetKeyId,
      })),
    ],
    [aliases.value, managed],
  );
  return (
    <Select
      ariaLabel="Encryption key"
      selectedOption={options.find((o) => o.value === value) ?? { value, label: value }}
      options={options}
      statusType={aliases.loading ? "loading" : aliases.error ? "error" : "finished"}
      errorText={aliases.error ? String((aliases.error as Error).message) : undefined}
      onChange={({ detail }) => onChange(detail.selectedOption.value ?? managed)}
    />
  );
}
