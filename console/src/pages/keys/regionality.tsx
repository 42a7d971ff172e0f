/**
 * A multi-Region key's configuration as DescribeKey gives it: whether this key is the primary or a
 * replica, the primary key, and the replicas, each with its Region. (keyhold's KMS refuses
 * MultiRegion at CreateKey today; the tab appears only for a key whose metadata says MultiRegion.)
 */
import type { KeyMetadata, MultiRegionKey } from "@aws-sdk/client-kms";
import Container from "@cloudscape-design/components/container";
import Header from "@cloudscape-design/components/header";
import KeyValuePairs from "@cloudscape-design/components/key-value-pairs";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";

export function RegionalityTab({ keyMetadata }: { keyMetadata: KeyMetadata }) {
  const config = keyMetadata.MultiRegionConfiguration;
  const replicas = config?.ReplicaKeys ?? [];
  return (
    <SpaceBetween size="l">
      <Container header={<Header variant="h2">Regionality</Header>}>
        <KeyValuePairs
          columns={3}
          items={[
            { label: "Multi-Region key type", value: config?.MultiRegionKeyType === "REPLICA" ? "Replica key" : "Primary key" },
            { label: "Primary key", value: config?.PrimaryKey?.Arn ?? "-" },
            { label: "Primary Region", value: config?.PrimaryKey?.Region ?? "-" },
          ]}
        />
      </Container>
      <Table<MultiRegionKey>
        data-testid="replica-keys"
        header={<Header counter={`(${replicas.length})`}>Replica keys</Header>}
        items={replicas}
        empty="No replica keys."
        columnDefinitions={[
          { id: "region", header: "Region", cell: (r) => r.Region ?? "-" },
          { id: "arn", header: "Key ARN", cell: (r) => r.Arn ?? "-" },
        ]}
      />
    </SpaceBetween>
  );
}
