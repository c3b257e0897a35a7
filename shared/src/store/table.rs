//! The table's definition, in one place: the tests create their tables from it, the local run
//! creates its table from it, and a test holds `template.yaml` to it (keys, attribute types,
//! indexes, projections, TTL attribute), so the deployed table and the code cannot drift apart.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use super::StoreError;

/// A key attribute: name and DynamoDB scalar type (`S` or `N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttribute {
    /// Attribute name.
    pub name: &'static str,
    /// `S` or `N`.
    pub kind: &'static str,
}

/// A global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    /// Index name.
    pub name: &'static str,
    /// Partition key.
    pub partition: KeyAttribute,
    /// Sort key.
    pub sort: KeyAttribute,
    /// `KEYS_ONLY`, `INCLUDE` or `ALL`.
    pub projection: &'static str,
    /// Projected non-key attributes, for `INCLUDE`.
    pub non_key_attributes: &'static [&'static str],
}

/// The whole table definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    /// Partition key.
    pub partition: KeyAttribute,
    /// Sort key.
    pub sort: KeyAttribute,
    /// Global secondary indexes.
    pub indexes: &'static [Index],
    /// The TTL attribute.
    pub ttl_attribute: &'static str,
}

/// Name of the due-query index.
pub const DUE_INDEX: &str = "due-index";
/// Name of the per-owner listing index.
pub const OWNER_INDEX: &str = "owner-index";

/// What the owner index projects: the profile and status, never a token.
pub const OWNER_INDEX_ATTRIBUTES: &[&str] = &[
    "authorizer_appid",
    "nick_name",
    "head_img",
    "user_name",
    "principal_name",
    "alias",
    "qrcode_url",
    "service_type",
    "verify_type",
    "func_info",
    "status",
    "owner",
    "updated_at",
];

/// The table.
pub const TABLE: TableDefinition = TableDefinition {
    partition: KeyAttribute { name: "pk", kind: "S" },
    sort: KeyAttribute { name: "sk", kind: "S" },
    indexes: &[
        Index {
            name: DUE_INDEX,
            partition: KeyAttribute { name: "due_pk", kind: "S" },
            sort: KeyAttribute { name: "expires_at", kind: "N" },
            projection: "KEYS_ONLY",
            non_key_attributes: &[],
        },
        Index {
            name: OWNER_INDEX,
            partition: KeyAttribute { name: "owner_pk", kind: "S" },
            sort: KeyAttribute { name: "authorized_at", kind: "N" },
            projection: "INCLUDE",
            non_key_attributes: OWNER_INDEX_ATTRIBUTES,
        },
    ],
    ttl_attribute: "ttl",
};

impl TableDefinition {
    /// Every key attribute of the table and its indexes, once each, sorted by name.
    pub fn attribute_definitions(&self) -> Vec<KeyAttribute> {
        let mut all = vec![self.partition, self.sort];
        for index in self.indexes {
            all.push(index.partition);
            all.push(index.sort);
        }
        all.sort_by_key(|a| a.name);
        all.dedup();
        all
    }

    /// Creates the table (on-demand) if it does not exist yet and enables TTL, as `template.yaml`
    /// declares it. For tests and local runs; deployments create it through the template.
    ///
    /// # Errors
    /// The SDK's error, as text.
    pub async fn create(&self, client: &Client, table_name: &str) -> Result<(), StoreError> {
        let err = |e: &dyn std::fmt::Display| StoreError::Other(e.to_string());
        let key = |a: KeyAttribute, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(a.name).key_type(kind).build().map_err(|e| err(&e))
        };
        let mut request = client.create_table().table_name(table_name).billing_mode(BillingMode::PayPerRequest);
        for a in self.attribute_definitions() {
            let kind = if a.kind == "N" { ScalarAttributeType::N } else { ScalarAttributeType::S };
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(a.name)
                    .attribute_type(kind)
                    .build()
                    .map_err(|e| err(&e))?,
            );
        }
        request = request.key_schema(key(self.partition, KeyType::Hash)?).key_schema(key(self.sort, KeyType::Range)?);
        for index in self.indexes {
            let mut projection = Projection::builder().projection_type(ProjectionType::from(index.projection));
            for attribute in index.non_key_attributes {
                projection = projection.non_key_attributes(*attribute);
            }
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .key_schema(key(index.partition, KeyType::Hash)?)
                    .key_schema(key(index.sort, KeyType::Range)?)
                    .projection(projection.build())
                    .build()
                    .map_err(|e| err(&e))?,
            );
        }
        // Idempotent: a table that already exists (a second run, or the SDK retrying a create whose
        // first attempt timed out after the server had created it) is fine.
        if let Err(e) = request.send().await {
            let exists = e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception());
            if !exists {
                return Err(err(&aws_sdk_dynamodb::error::DisplayErrorContext(e)));
            }
        }
        let ttl = client
            .update_time_to_live()
            .table_name(table_name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(self.ttl_attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| err(&e))?,
            )
            .send()
            .await;
        match ttl {
            Ok(_) => Ok(()),
            // A second run on an existing table: TTL is already on.
            Err(e) if aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string().contains("already enabled") => {
                Ok(())
            }
            Err(e) => Err(err(&aws_sdk_dynamodb::error::DisplayErrorContext(e))),
        }
    }
}
