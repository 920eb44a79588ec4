//! Identity: who may enter the shop and what they may do there.
//! Owns users, roles, password hashing, login throttling, staff management, the audit log
//! (`audit`) and the database session store (`sessions`).
pub mod audit;
mod password;
pub mod sessions;
pub mod throttle;
mod types;

pub use password::{Busy, hash_password, most_at_once, slots as password_slots, verify_password};
pub use throttle::ThrottleLimits;
pub use types::{Email, NewPassword, Role};

use crate::{
    Clock,
    entities::user::{self, Entity as Users},
};
use rand::{Rng, distributions::Alphanumeric};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};

pub type User = user::Model;

/// What went wrong, as a stable code the UI translates (`error.<code>`).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid email")]
    InvalidEmail,
    #[error("password too short")]
    PasswordTooShort,
    #[error("password too long")]
    PasswordTooLong,
    #[error("password too common or guessable")]
    PasswordTooCommon,
    #[error("passwords do not match")]
    PasswordMismatch,
    #[error("email already registered")]
    EmailTaken,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("current password is wrong")]
    WrongCurrentPassword,
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after_minutes: i64 },
    #[error("not allowed")]
    Forbidden,
    #[error("unknown role")]
    UnknownRole,
    #[error("no such user")]
    NotFound,
    #[error("the last owner cannot lose the owner role")]
    LastOwner,
    #[error("display name too long")]
    DisplayNameTooLong,
    #[error("too many sign-ins at this moment")]
    Busy,
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<Busy> for AccountError {
    fn from(_: Busy) -> Self {
        Self::Busy
    }
}

impl AccountError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEmail => "invalid_email",
            Self::PasswordTooShort => "password_too_short",
            Self::PasswordTooLong => "password_too_long",
            Self::PasswordTooCommon => "password_too_common",
            Self::PasswordMismatch => "password_mismatch",
            Self::EmailTaken => "email_taken",
            Self::BadCredentials => "bad_credentials",
            Self::WrongCurrentPassword => "wrong_current_password",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::Forbidden => "forbidden",
            Self::UnknownRole => "unknown_role",
            Self::NotFound => "not_found",
            Self::LastOwner => "last_owner",
            Self::DisplayNameTooLong => "display_name_too_long",
            Self::Busy => "password_busy",
            Self::Db(_) => "internal",
        }
    }
}

/// Who is acting, as far as the audit log cares.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: Option<User>,
    pub ip: Option<String>,
}

impl Actor {
    /// The operator at the command line.
    pub fn cli() -> Self {
        Self { user: None, ip: None }
    }
    pub fn web(user: User, ip: Option<String>) -> Self {
        Self { user: Some(user), ip }
    }
    fn role(&self) -> Option<Role> {
        self.user.as_ref().and_then(|u| Role::parse(&u.role))
    }
    /// Staff management is the owner's; the CLI has the machine, so it has everything.
    pub(crate) fn may_manage_staff(&self) -> bool {
        self.user.is_none() || self.role() == Some(Role::Owner)
    }
}

pub fn role_of(user: &User) -> Role {
    Role::parse(&user.role).unwrap_or(Role::Customer)
}

pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<User>, DbErr> {
    Users::find_by_id(id).one(db).await
}

pub async fn find_by_email(db: &impl ConnectionTrait, email: &Email) -> Result<Option<User>, DbErr> {
    Users::find().filter(user::Column::Email.eq(email.as_str())).one(db).await
}

fn parse_display_name(name: Option<&str>) -> Result<Option<String>, AccountError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    match name {
        Some(n) if n.chars().count() > 80 => Err(AccountError::DisplayNameTooLong),
        n => Ok(n.map(str::to_owned)),
    }
}

async fn insert_user(
    db: &impl ConnectionTrait,
    clock: &Clock,
    email: &Email,
    password: &NewPassword,
    role: Role,
    display_name: Option<String>,
) -> Result<User, AccountError> {
    if find_by_email(db, email).await?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    let hash = hash_password(password.expose()).await?;
    let now = clock.now();
    let model = user::ActiveModel {
        email: Set(email.as_str().to_owned()),
        password_hash: Set(hash),
        display_name: Set(display_name),
        role: Set(role.as_str().to_owned()),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
        ..Default::default()
    };
    // A racing registration with the same email loses on the unique index.
    model.insert(db).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => AccountError::EmailTaken,
        _ => AccountError::Db(e),
    })
}

/// A customer signs up. The role is always `customer`, whatever the form says.
pub async fn register(
    db: &impl ConnectionTrait,
    clock: &Clock,
    email: &str,
    password: &str,
    confirm: &str,
    display_name: Option<&str>,
) -> Result<User, AccountError> {
    let email = Email::parse(email)?;
    if password != confirm {
        return Err(AccountError::PasswordMismatch);
    }
    let password = NewPassword::parse(password, email.as_str())?;
    let display_name = parse_display_name(display_name)?;
    insert_user(db, clock, &email, &password, Role::Customer, display_name).await
}

/// Checks a login. Attempts are counted per network (an IPv4 address, an IPv6 /64) and per
/// account from that network, before the password is checked; over either limit the answer
/// is "too many attempts" whatever the password, and an unknown account looks exactly like
/// a wrong password (same message, same hashing work). A right password gives its own
/// slots back. When every hashing slot is busy the answer is [`AccountError::Busy`] at once.
pub async fn login(
    db: &impl ConnectionTrait,
    clock: &Clock,
    limits: &ThrottleLimits,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<User, AccountError> {
    let now = clock.now();
    // Each attempt takes its slots before the password is checked (one atomic count per
    // key), so a burst at once is checked no more often than the limits allow. The
    // account's count is per network: a stranger's guesses lock the account for them,
    // not for its owner elsewhere.
    let network = throttle::network_of(ip);
    let ip_key = format!("ip:{network}");
    let account_key = format!("acct:{}|{network}", email.trim().to_lowercase());
    throttle::take(db, now, limits, &ip_key, limits.max_failures_ip).await?;
    if let Err(e) = throttle::take(db, now, limits, &account_key, limits.max_failures_account).await {
        throttle::give_back(db, &ip_key).await?;
        return Err(e);
    }

    let user = match Email::parse(email) {
        Ok(e) => find_by_email(db, &e).await?,
        Err(_) => None,
    };
    let checked = match &user {
        Some(u) => verify_password(password, &u.password_hash).await.map(|right| right && !u.disabled),
        None => password::burn_equal_time(password).await.map(|()| false),
    };
    let ok = match checked {
        Ok(ok) => ok,
        Err(Busy) => {
            // Nothing was checked: the attempt gives its slots back.
            throttle::give_back(db, &account_key).await?;
            throttle::give_back(db, &ip_key).await?;
            return Err(AccountError::Busy);
        }
    };
    if !ok {
        return Err(AccountError::BadCredentials);
    }
    // The right password gives its own slots back; the wrong guesses before it stay
    // counted until their window ends (so a burst with the right password among it is
    // checked no more often than the limit allows).
    throttle::give_back(db, &account_key).await?;
    throttle::give_back(db, &ip_key).await?;
    let user = user.expect("checked");
    let mut active: user::ActiveModel = user.into();
    active.last_login_at = Set(Some(now));
    let user = active.update(db).await?;
    if role_of(&user).is_staff() {
        audit::record(
            db,
            clock,
            &Actor::web(user.clone(), Some(ip.to_owned())),
            "staff.login",
            Some(&user.email),
            None,
        )
        .await?;
    }
    Ok(user)
}

pub async fn change_password(
    db: &impl ConnectionTrait,
    clock: &Clock,
    user_id: i32,
    current: &str,
    new: &str,
    confirm: &str,
) -> Result<(), AccountError> {
    let user = find(db, user_id).await?.ok_or(AccountError::NotFound)?;
    // Guesses at the current password count like failed logins of the account.
    let key = format!("chpw:{user_id}");
    let limits = ThrottleLimits::for_change_password();
    throttle::take(db, clock.now(), &limits, &key, limits.max_failures_account).await?;
    let right = match verify_password(current, &user.password_hash).await {
        Ok(right) => right,
        Err(Busy) => {
            throttle::give_back(db, &key).await?;
            return Err(AccountError::Busy);
        }
    };
    if !right {
        return Err(AccountError::WrongCurrentPassword);
    }
    throttle::reset(db, &key).await?;
    if new != confirm {
        return Err(AccountError::PasswordMismatch);
    }
    let new = NewPassword::parse(new, &user.email)?;
    let mut active: user::ActiveModel = user.into();
    active.password_hash = Set(hash_password(new.expose()).await?);
    active.updated_at = Set(clock.now());
    active.update(db).await?;
    Ok(())
}

/// Creates an account of any role on behalf of staff (owner only) or the CLI. Without a
/// password one is generated and returned, to be shown once.
pub async fn create_user(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    email: &str,
    role: &str,
    password: Option<&str>,
) -> Result<(User, Option<String>), AccountError> {
    if !actor.may_manage_staff() {
        audit::record(db, clock, actor, "user.create.denied", Some(email), Some(role)).await?;
        return Err(AccountError::Forbidden);
    }
    let email = Email::parse(email)?;
    let role = Role::parse(role).ok_or(AccountError::UnknownRole)?;
    let generated = password.is_none().then(generate_password);
    let password = NewPassword::parse(password.or(generated.as_deref()).expect("one of them"), email.as_str())?;
    let user = insert_user(db, clock, &email, &password, role, None).await?;
    audit::record(db, clock, actor, "user.create", Some(&user.email), Some(role.as_str())).await?;
    Ok((user, generated))
}

/// Changes a user's role (owner only). The last owner keeps the role, so the shop is
/// never left without one.
pub async fn set_role(
    db: &impl ConnectionTrait,
    clock: &Clock,
    actor: &Actor,
    user_id: i32,
    role: &str,
) -> Result<User, AccountError> {
    let target = find(db, user_id).await?.ok_or(AccountError::NotFound)?;
    if !actor.may_manage_staff() {
        audit::record(db, clock, actor, "user.role.denied", Some(&target.email), Some(role)).await?;
        return Err(AccountError::Forbidden);
    }
    let role = Role::parse(role).ok_or(AccountError::UnknownRole)?;
    if role_of(&target) == Role::Owner && role != Role::Owner && count_role(db, Role::Owner).await? <= 1 {
        return Err(AccountError::LastOwner);
    }
    let detail = format!("{} -> {}", target.role, role.as_str());
    let mut active: user::ActiveModel = target.into();
    active.role = Set(role.as_str().to_owned());
    active.updated_at = Set(clock.now());
    let user = active.update(db).await?;
    audit::record(db, clock, actor, "user.role", Some(&user.email), Some(&detail)).await?;
    crate::platform::events::record(db, clock.now(), [crate::platform::events::Event::KeysChanged]).await?;
    Ok(user)
}

pub async fn count_role(db: &impl ConnectionTrait, role: Role) -> Result<u64, DbErr> {
    Users::find().filter(user::Column::Role.eq(role.as_str())).count(db).await
}

pub async fn count_users(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Users::find().count(db).await
}

/// Staff accounts, owners first.
pub async fn list_staff(db: &impl ConnectionTrait) -> Result<Vec<User>, DbErr> {
    let staff: Vec<&str> = Role::ALL.iter().filter(|r| r.is_staff()).map(|r| r.as_str()).collect();
    Users::find().filter(user::Column::Role.is_in(staff)).order_by_asc(user::Column::Id).all(db).await
}

fn generate_password() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect()
}
