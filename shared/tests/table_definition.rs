//! `template.yaml` declares the table the code's definition describes: keys, attribute types,
//! indexes with their projections, the TTL attribute, on-demand billing and point-in-time
//! recovery. A change to one without the other fails here.

use shared::store::table::{KeyAttribute, TABLE};
use yaml_rust2::{Yaml, YamlLoader};

fn template() -> Yaml {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).expect("template.yaml");
    YamlLoader::load_from_str(&text).expect("valid YAML").remove(0)
}

fn table() -> Yaml {
    let template = template();
    let resources = template["Resources"].as_hash().expect("Resources");
    let tables: Vec<&Yaml> =
        resources.values().filter(|r| r["Type"].as_str() == Some("AWS::DynamoDB::Table")).collect();
    assert_eq!(tables.len(), 1, "exactly one table");
    tables[0]["Properties"].clone()
}

fn key_schema(schema: &Yaml) -> (String, String) {
    let keys = schema.as_vec().expect("KeySchema");
    let find = |kind| {
        keys.iter()
            .find(|k| k["KeyType"].as_str() == Some(kind))
            .and_then(|k| k["AttributeName"].as_str())
            .expect("key")
            .to_owned()
    };
    (find("HASH"), find("RANGE"))
}

fn names(attributes: &[KeyAttribute]) -> Vec<(String, String)> {
    attributes.iter().map(|a| (a.name.to_owned(), a.kind.to_owned())).collect()
}

#[test]
fn template_table_matches_the_code() {
    let table = table();
    let mut declared: Vec<(String, String)> = table["AttributeDefinitions"]
        .as_vec()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| (a["AttributeName"].as_str().unwrap().to_owned(), a["AttributeType"].as_str().unwrap().to_owned()))
        .collect();
    declared.sort();
    assert_eq!(declared, names(&TABLE.attribute_definitions()), "AttributeDefinitions");
    assert_eq!(key_schema(&table["KeySchema"]), (TABLE.partition.name.to_owned(), TABLE.sort.name.to_owned()));

    let indexes = table["GlobalSecondaryIndexes"].as_vec().expect("GlobalSecondaryIndexes");
    assert_eq!(indexes.len(), TABLE.indexes.len(), "index count");
    for index in TABLE.indexes {
        let declared = indexes
            .iter()
            .find(|i| i["IndexName"].as_str() == Some(index.name))
            .unwrap_or_else(|| panic!("index {} missing from template.yaml", index.name));
        assert_eq!(key_schema(&declared["KeySchema"]), (index.partition.name.to_owned(), index.sort.name.to_owned()));
        assert_eq!(declared["Projection"]["ProjectionType"].as_str(), Some(index.projection), "{}", index.name);
        let mut projected: Vec<&str> = declared["Projection"]["NonKeyAttributes"]
            .as_vec()
            .map(|v| v.iter().filter_map(Yaml::as_str).collect())
            .unwrap_or_default();
        projected.sort_unstable();
        let mut expected = index.non_key_attributes.to_vec();
        expected.sort_unstable();
        assert_eq!(projected, expected, "{} NonKeyAttributes", index.name);
    }

    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"].as_str(), Some(TABLE.ttl_attribute));
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(table["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true),
        "refresh tokens are irreplaceable: point-in-time recovery stays on"
    );
}

#[test]
fn owner_index_never_projects_a_token() {
    let owner = TABLE.indexes.iter().find(|i| i.name == shared::store::table::OWNER_INDEX).unwrap();
    for secret in ["access_token", "refresh_token"] {
        assert!(!owner.non_key_attributes.contains(&secret));
    }
    assert_eq!(owner.projection, "INCLUDE");
}
