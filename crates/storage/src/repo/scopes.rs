//! `ScopeCatalogRepository`: the stored catalogue of each provider, synced to the provider
//! crates' lists at start-up.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
};
use tether_core::ports::{CatalogSyncReport, ScopeCatalogRepository};
use tether_core::scope_catalog::ScopeCatalogEntry;
use tether_core::{ProviderKind, StorageError, StorageResult};
use uuid::Uuid;

use super::{SqlStore, backend, db_err, now, write_txn};
use crate::entities::scopes::{ActiveModel, Column, Entity, Model};

const ENTITY: &str = "scope";
const DUPLICATE: &str = "this scope is already in the catalogue";

fn differs(stored: &Model, entry: &ScopeCatalogEntry) -> bool {
    stored.display_name != entry.display_name
        || stored.description != entry.description
        || stored.category != entry.category.as_str()
        || stored.is_required != entry.is_required
        || stored.is_dangerous != entry.is_dangerous
}

fn describe(model: &mut ActiveModel, entry: &ScopeCatalogEntry) {
    model.display_name = Set(entry.display_name.clone());
    model.description = Set(entry.description.clone());
    model.category = Set(entry.category.as_str().to_owned());
    model.is_required = Set(entry.is_required);
    model.is_dangerous = Set(entry.is_dangerous);
    model.updated_at = Set(now());
}

#[async_trait]
impl ScopeCatalogRepository for SqlStore {
    async fn sync(
        &self,
        provider: ProviderKind,
        entries: &[ScopeCatalogEntry],
    ) -> StorageResult<CatalogSyncReport> {
        let mut wanted = BTreeMap::new();
        for entry in entries {
            if entry.provider != provider {
                return Err(StorageError::Backend(format!(
                    "scope catalogue sync for {provider} was given a {} scope",
                    entry.provider
                )));
            }
            // A later duplicate wins, as it would in a map literal.
            wanted.insert(entry.scope.as_str().to_owned(), entry);
        }
        let txn = write_txn(self.conn()).await?;
        let stored = Entity::find()
            .filter(Column::Provider.eq(provider.as_str()))
            .all(&txn)
            .await
            .map_err(backend)?;
        let mut report = CatalogSyncReport::default();
        let mut seen = std::collections::BTreeSet::new();
        for row in stored {
            match wanted.get(row.scope_name.as_str()) {
                None => {
                    Entity::delete_by_id(row.id)
                        .exec(&txn)
                        .await
                        .map_err(backend)?;
                    report.removed += 1;
                }
                Some(entry) => {
                    seen.insert(row.scope_name.clone());
                    if differs(&row, entry) {
                        let mut model: ActiveModel = row.into();
                        describe(&mut model, entry);
                        model.update(&txn).await.map_err(backend)?;
                        report.updated += 1;
                    }
                }
            }
        }
        for (name, entry) in &wanted {
            if seen.contains(name) {
                continue;
            }
            let mut model = ActiveModel {
                id: Set(Uuid::now_v7()),
                provider: Set(provider.as_str().to_owned()),
                scope_name: Set(name.clone()),
                ..Default::default()
            };
            describe(&mut model, entry);
            model
                .insert(&txn)
                .await
                .map_err(db_err(ENTITY, DUPLICATE))?;
            report.inserted += 1;
        }
        txn.commit().await.map_err(backend)?;
        Ok(report)
    }

    async fn list(&self, provider: Option<ProviderKind>) -> StorageResult<Vec<ScopeCatalogEntry>> {
        let mut select = Entity::find();
        if let Some(provider) = provider {
            select = select.filter(Column::Provider.eq(provider.as_str()));
        }
        select
            .order_by_asc(Column::Provider)
            .order_by_asc(Column::ScopeName)
            .all(self.conn())
            .await
            .map_err(backend)?
            .into_iter()
            .map(ScopeCatalogEntry::try_from)
            .collect()
    }
}
