//! Diesel's view of the tables. Hand-kept to match both migration folders; the
//! schema-parity test (tests/api) proves the two backends agree.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        locale -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        date_of_birth -> Nullable<Text>,
        country -> Text,
        bio -> Text,
        links -> Text,
        avatar_key -> Nullable<Text>,
        email_verified_at -> Nullable<Timestamp>,
        guardian_email -> Nullable<Text>,
        guardian_consent_at -> Nullable<Timestamp>,
        guardian_consent_by -> Nullable<Text>,
        guardian_consent_method -> Nullable<Text>,
        failed_logins -> Integer,
        throttled_until -> Nullable<Timestamp>,
        login_blocked -> Bool,
        tokens_valid_after -> Nullable<Timestamp>,
    }
}

diesel::table! {
    competitions (id) {
        id -> Text,
        slug -> Text,
        title -> Text,
        summary -> Text,
        status -> Text,
        submissions_open_at -> Nullable<Timestamp>,
        submissions_close_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_roles (id) {
        id -> BigInt,
        user_id -> Text,
        role -> Text,
        competition_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    account_tokens (id) {
        id -> BigInt,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        data -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
        user_agent -> Text,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        session_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rate_counters (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamp,
        hits -> Integer,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<Text>,
        action -> Text,
        subject -> Text,
        details -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamp,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(account_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    competitions,
    user_roles,
    account_tokens,
    jobs
);
