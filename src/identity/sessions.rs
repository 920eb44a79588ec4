//! Sessions in the shop's own database, so any number of app instances share them.
//! Implements tower-sessions' `SessionStore` over SeaORM: one code path for both backends.
//! Writes of many requests at once are committed together (a flash sale's crowd each
//! saving a new session would otherwise queue one write per buyer), and their loads are
//! answered together by one read.
use crate::{
    entities::session::{self, Entity as Sessions},
    platform::group_commit::Batcher,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, sea_query::OnConflict};
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, OnceLock},
};
use tower_sessions::{
    ExpiredDeletion, SessionStore,
    session::{Id, Record},
    session_store::{Error, Result},
};

/// Most session writes committed in one statement.
const WRITE_BATCH: usize = 128;
/// Session writes waiting for the batcher before callers wait for room.
const WRITE_QUEUE: usize = 4096;
/// Most session loads answered by one read, and reads in flight at once: a load alone is
/// read at once; under a crowd (a flash sale's buyers each paying) the loads that arrive
/// while the reads in flight run are answered together by the next.
const READ_BATCH: usize = 64;
/// Session loads waiting for a read before callers wait for room.
const READ_QUEUE: usize = 4096;
const READS_AT_ONCE: usize = 4;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
    /// Saves and creations of many requests at once go to the database together (see
    /// [`write_batch`]); opened on the first write, inside the runtime.
    writes: Arc<OnceLock<Batcher<Write, Result<String>>>>,
    /// Loads of many requests at once, answered by one read (see [`read_batch`]).
    reads: Arc<OnceLock<Batcher<String, std::result::Result<Option<session::Model>, String>>>>,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, writes: Arc::default(), reads: Arc::default() }
    }

    /// The stored row of a session that has not expired, read together with the loads of
    /// other requests waiting at the same moment.
    async fn read(&self, id: String) -> Result<Option<session::Model>> {
        let batcher = self.reads.get_or_init(|| {
            let db = self.db.clone();
            Batcher::open(READ_QUEUE, READ_BATCH, READS_AT_ONCE, move |ids| read_batch(db.clone(), ids))
        });
        match batcher.serve(id).await {
            Some(found) => found.map_err(backend),
            None => Err(backend("the session reader stopped")),
        }
    }

    fn batcher(&self) -> &Batcher<Write, Result<String>> {
        self.writes.get_or_init(|| {
            let db = self.db.clone();
            Batcher::open(WRITE_QUEUE, WRITE_BATCH, 1, move |writes| write_batch(db.clone(), writes))
        })
    }

    /// Queues a write and waits until it is committed; its answer is the id it was stored
    /// under (a new session's id is drawn again on a collision).
    async fn write(&self, write: Write) -> Result<String> {
        self.batcher().serve(write).await.unwrap_or_else(|| Err(backend("the session writer stopped")))
    }
}

/// One session row to write: a new session (`create`: its id must not exist yet) or a
/// save (insert or update).
struct Write {
    create: bool,
    row: session::ActiveModel,
}

fn backend(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

fn expiry(record: &Record) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(record.expiry_date.unix_timestamp(), 0)
        .ok_or_else(|| backend("expiry out of range"))
}

fn row(record: &Record) -> Result<session::ActiveModel> {
    Ok(session::ActiveModel {
        id: Set(record.id.to_string()),
        data: Set(serde_json::to_vec(&record.data).map_err(|e| Error::Encode(e.to_string()))?),
        expires_at: Set(expiry(record)?),
    })
}

fn id_of(row: &session::ActiveModel) -> String {
    match &row.id {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => id.clone(),
        sea_orm::ActiveValue::NotSet => String::new(),
    }
}

/// Writes a batch of sessions in (usually) two statements under one write turn: the new
/// ones inserted where their id is free — on a collision of 128 random bits, which will
/// not happen, that session draws a new id and tries again — then the saves upserted,
/// the later of two saves of one session winning, as it would have one after the other.
/// One answer per write, in order.
async fn write_batch(db: DatabaseConnection, writes: Vec<Write>) -> Vec<Result<String>> {
    tracing::debug!(writes = writes.len(), "session batch");
    let _turn = match crate::platform::db::write_turn(&db).await {
        Ok(turn) => turn,
        Err(e) => return writes.iter().map(|_| Err(backend(&e))).collect(),
    };
    let mut answers: Vec<Result<String>> = writes.iter().map(|w| Ok(id_of(&w.row))).collect();
    let mut new: Vec<usize> = (0..writes.len()).filter(|&i| writes[i].create).collect();
    let mut rows: Vec<session::ActiveModel> = writes.iter().map(|w| w.row.clone()).collect();
    for _ in 0..8 {
        if new.is_empty() {
            break;
        }
        let inserted = Sessions::insert_many(new.iter().map(|&i| rows[i].clone()))
            .on_conflict(OnConflict::column(session::Column::Id).do_nothing().to_owned())
            .exec_with_returning_keys(&db)
            .await;
        let inserted: HashSet<String> = match inserted {
            Ok(keys) => keys.into_iter().collect(),
            Err(e) => {
                for &i in &new {
                    answers[i] = Err(backend(&e));
                }
                break;
            }
        };
        new.retain(|&i| !inserted.contains(&id_of(&rows[i])));
        for &i in &new {
            let id = Id::default().to_string();
            rows[i].id = Set(id.clone());
            answers[i] = Ok(id);
        }
    }
    for &i in &new {
        if answers[i].is_ok() {
            answers[i] = Err(backend("no free session id"));
        }
    }
    // Saves: the last one of each session, in one upsert.
    let mut last_of: HashMap<String, usize> = HashMap::new();
    for (i, w) in writes.iter().enumerate().filter(|(_, w)| !w.create) {
        last_of.insert(id_of(&w.row), i);
    }
    if !last_of.is_empty() {
        let mut latest: Vec<usize> = last_of.into_values().collect();
        latest.sort_unstable();
        let saved = Sessions::insert_many(latest.iter().map(|&i| rows[i].clone()))
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::Data, session::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec_without_returning(&db)
            .await;
        if let Err(e) = saved {
            for (i, w) in writes.iter().enumerate() {
                if !w.create {
                    answers[i] = Err(backend(&e));
                }
            }
        }
    }
    answers
}

/// One read for the loads of a batch: each answered with its own session's row (by id, so
/// no request ever gets another's session), or none when it is unknown or expired.
async fn read_batch(
    db: DatabaseConnection,
    ids: Vec<String>,
) -> Vec<std::result::Result<Option<session::Model>, String>> {
    let mut keys = ids.clone();
    keys.sort_unstable();
    keys.dedup();
    let found = Sessions::find()
        .filter(session::Column::Id.is_in(crate::platform::db::padded(keys)))
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .all(&db)
        .await;
    match found {
        Ok(rows) => {
            let by_id: HashMap<String, session::Model> = rows.into_iter().map(|r| (r.id.clone(), r)).collect();
            ids.iter().map(|id| Ok(by_id.get(id).cloned())).collect()
        }
        Err(e) => ids.iter().map(|_| Err(e.to_string())).collect(),
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        let id = self.write(Write { create: true, row: row(record)? }).await?;
        if id != record.id.to_string() {
            record.id = id.parse().map_err(|_| backend("a drawn session id did not parse"))?;
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.write(Write { create: false, row: row(record)? }).await.map(|_| ())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(found) = self.read(id.to_string()).await? else { return Ok(None) };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_slice(&found.data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date: time::OffsetDateTime::from_unix_timestamp(found.expires_at.timestamp())
                .map_err(|e| Error::Decode(e.to_string()))?,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let _turn = crate::platform::db::write_turn(&self.db).await.map_err(backend)?;
        Sessions::delete_by_id(id.to_string()).exec(&self.db).await.map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> Result<()> {
        let _turn = crate::platform::db::write_turn(&self.db).await.map_err(backend)?;
        Sessions::delete_many()
            .filter(session::Column::ExpiresAt.lte(Utc::now()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
