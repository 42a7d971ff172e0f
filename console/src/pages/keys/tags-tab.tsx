/**
 * The key's tags (ListResourceTags), edited as the AWS console edits them: add, change and remove
 * rows, then Save changes sends TagResource for what is new or changed and UntagResource for what
 * was removed. KMS's tag rules (no aws: prefix, no duplicate keys, 50 tags at most, the lengths)
 * are KMS's to apply: the console sends what was typed and shows KMS's refusal as it came.
 */
import { useState } from "react";
import { KMSClient, TagResourceCommand, UntagResourceCommand, type Tag } from "@aws-sdk/client-kms";
import AttributeEditor from "@cloudscape-design/components/attribute-editor";
import Button from "@cloudscape-design/components/button";
import Container from "@cloudscape-design/components/container";
import Header from "@cloudscape-design/components/header";
import Input from "@cloudscape-design/components/input";
import SpaceBetween from "@cloudscape-design/components/space-between";
import Table from "@cloudscape-design/components/table";
import { useClient } from "../../aws";
import { ErrorAlert } from "../../errors";
import { useNotify } from "../../flash";

interface Row {
  key: string;
  value: string;
}

/** KMS's limit of tags on one key: when adding first would pass it, the removals go first. */
const MAX_TAGS = 50;

/** What Save changes sends: the rows whose value is new or changed (duplicated keys too, so KMS refuses them), and the keys removed. */
export function tagChanges(before: Tag[], rows: Row[]): { set: Tag[]; remove: string[] } {
  const old = new Map(before.map((t) => [t.TagKey ?? "", t.TagValue ?? ""]));
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.key, (count.get(r.key) ?? 0) + 1);
  const set = rows.filter((r) => old.get(r.key) !== r.value || count.get(r.key)! > 1).map((r) => ({ TagKey: r.key, TagValue: r.value }));
  const remove = [...old.keys()].filter((k) => !count.has(k));
  return { set, remove };
}

export function TagsTab({ keyId, tags, editable, onSaved }: { keyId: string; tags: Tag[]; editable: boolean; onSaved(): void }) {
  const kms = useClient(KMSClient);
  const notify = useNotify();
  const [rows, setRows] = useState<Row[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);

  async function save(draft: Row[]) {
    const { set, remove } = tagChanges(tags, draft);
    setBusy(true);
    setError(undefined);
    let changed = false;
    try {
      const tag = async () => {
        if (set.length) await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: set }));
        changed ||= set.length > 0;
      };
      const untag = async () => {
        if (remove.length) await kms.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: remove }));
        changed ||= remove.length > 0;
      };
      const added = set.filter((t) => !tags.some((o) => o.TagKey === t.TagKey)).length;
      if (tags.length + added > MAX_TAGS && remove.length) {
        await untag();
        await tag();
      } else {
        await tag();
        await untag();
      }
      notify.success(changed ? "The tags are saved." : "No tag changed.");
      setRows(undefined);
      onSaved();
    } catch (e) {
      setError(e);
      if (changed) onSaved();
    } finally {
      setBusy(false);
    }
  }

  if (rows === undefined) {
    return (
      <Table<Tag>
        data-testid="key-tags"
        header={
          <Header
            counter={`(${tags.length})`}
            actions={
              editable && <Button onClick={() => setRows(tags.map((t) => ({ key: t.TagKey ?? "", value: t.TagValue ?? "" })))}>Edit</Button>
            }
          >
            Tags
          </Header>
        }
        items={tags}
        empty="No tags."
        columnDefinitions={[
          { id: "key", header: "Tag key", cell: (t) => t.TagKey },
          { id: "value", header: "Tag value", cell: (t) => t.TagValue || "-" },
        ]}
      />
    );
  }
  const update = (i: number, change: Partial<Row>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
  return (
    <Container
      data-testid="key-tags-editor"
      header={
        <Header
          variant="h2"
          description="Tag keys and values are case sensitive; KMS checks them when you save."
          actions={
            <SpaceBetween size="xs" direction="horizontal">
              <Button variant="link" disabled={busy} onClick={() => (setRows(undefined), setError(undefined))}>
                Cancel
              </Button>
              <Button variant="primary" loading={busy} onClick={() => void save(rows)}>
                Save changes
              </Button>
            </SpaceBetween>
          }
        >
          Edit tags
        </Header>
      }
    >
      <SpaceBetween size="m">
        <ErrorAlert error={error} />
        <AttributeEditor<Row>
          items={rows}
          addButtonText="Add tag"
          removeButtonText="Remove"
          empty="No tags associated with the key."
          onAddButtonClick={() => setRows([...rows, { key: "", value: "" }])}
          onRemoveButtonClick={({ detail }) => setRows(rows.filter((_, i) => i !== detail.itemIndex))}
          definition={[
            {
              label: "Tag key",
              control: (r, i) => <Input value={r.key} ariaLabel="Tag key" onChange={({ detail }) => update(i, { key: detail.value })} />,
            },
            {
              label: "Tag value - optional",
              control: (r, i) => (
                <Input value={r.value} ariaLabel="Tag value" onChange={({ detail }) => update(i, { value: detail.value })} />
              ),
            },
          ]}
        />
      </SpaceBetween>
    </Container>
  );
}
