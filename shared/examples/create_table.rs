//! Creates the token table from the code's definition (the one `template.yaml` is tested
//! against) on the DynamoDB endpoint of the environment. Idempotent. Used by the local run.
//!
//! `AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000 TABLE_NAME=wechat-local cargo run -p shared --example create_table`

use shared::store::DynamoDbStore;
use shared::store::table::TABLE;

#[tokio::main]
async fn main() -> Result<(), String> {
    let table = std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is required".to_owned())?;
    let store = DynamoDbStore::from_env_with_timeouts(
        &table,
        "-",
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(15),
    );
    TABLE.create(store.client(), &table).await.map_err(|e| e.to_string())?;
    println!("table {table} ready");
    Ok(())
}
