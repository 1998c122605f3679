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
        erased_at -> Nullable<Timestamp>,
        guardian_withdrawn_at -> Nullable<Timestamp>,
        blocked_at -> Nullable<Timestamp>,
        blocked_reason -> Nullable<Text>,
        guardian_allows_comments -> Bool,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        competition_id -> Text,
        email -> Text,
        role -> Text,
        language -> Text,
        invited_by -> Text,
        token_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
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
        description -> Text,
        rules -> Text,
        cover_key -> Nullable<Text>,
        time_zone -> Text,
        entries_per_musician -> Integer,
        min_age -> Nullable<Integer>,
        max_age -> Nullable<Integer>,
        audio_policy -> Text,
        consent_age -> Nullable<Integer>,
        language -> Text,
        translations -> Text,
        ai_rule -> Text,
    }
}

diesel::table! {
    prompts (id) {
        id -> Text,
        competition_id -> Text,
        position -> Integer,
        title -> Text,
        story -> Text,
        image_key -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        translations -> Text,
    }
}

diesel::table! {
    categories (id) {
        id -> Text,
        competition_id -> Text,
        position -> Integer,
        name -> Text,
        description -> Text,
        translations -> Text,
    }
}

diesel::table! {
    entries (id) {
        id -> Text,
        competition_id -> Text,
        musician_id -> Text,
        prompt_id -> Nullable<Text>,
        category_id -> Nullable<Text>,
        title -> Text,
        description -> Text,
        lyrics -> Text,
        credits -> Text,
        samples -> Text,
        samples_declared -> Bool,
        originality_declared -> Bool,
        status -> Text,
        review -> Text,
        review_reason -> Nullable<Text>,
        upload_id -> Nullable<Text>,
        report -> Nullable<Text>,
        verdict -> Nullable<Text>,
        analysis_error -> Nullable<Text>,
        fingerprint -> Nullable<Text>,
        flags -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        analysed_at -> Nullable<Timestamp>,
        withdrawn_at -> Nullable<Timestamp>,
        ai_use -> Nullable<Text>,
    }
}

diesel::table! {
    fingerprint_keys (key, entry_id) {
        key -> Integer,
        entry_id -> Text,
    }
}

diesel::table! {
    uploads (id) {
        id -> Text,
        entry_id -> Text,
        object_key -> Text,
        state -> Text,
        size_bytes -> Nullable<BigInt>,
        sha256 -> Nullable<Text>,
        original_name -> Text,
        content_type -> Text,
        created_at -> Timestamp,
        stored_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Text,
        key -> Text,
        fingerprint -> Text,
        status_code -> Nullable<Integer>,
        response -> Nullable<Text>,
        created_at -> Timestamp,
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
        lane -> Nullable<Text>,
        concurrency_key -> Nullable<Text>,
    }
}

diesel::table! {
    rounds (id) {
        id -> Text,
        competition_id -> Text,
        position -> Integer,
        name -> Text,
        kind -> Text,
        status -> Text,
        opens_at -> Nullable<Timestamp>,
        closes_at -> Nullable<Timestamp>,
        rubric -> Text,
        blind -> Bool,
        judges_per_entry -> Integer,
        advancement -> Text,
        ranking_basis -> Text,
        min_listen_permille -> Integer,
        others_scores -> Text,
        reminder_hours -> Integer,
        reminded_at -> Nullable<Timestamp>,
        closed_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        feedback_release -> Text,
    }
}

diesel::table! {
    round_entries (round_id, entry_id) {
        round_id -> Text,
        entry_id -> Text,
        code -> Text,
        anchor -> Bool,
        placement -> Nullable<Integer>,
        result -> Nullable<Text>,
        advanced -> Nullable<Bool>,
        decided_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    assignments (id) {
        id -> Text,
        round_id -> Text,
        entry_id -> Text,
        judge_id -> Text,
        alias -> Text,
        sort_key -> Text,
        state -> Text,
        listened -> Text,
        listened_permille -> Integer,
        notified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        streamed -> Text,
        first_streamed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    scores (assignment_id) {
        assignment_id -> Text,
        criteria -> Text,
        total_milli -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    judge_comments (id) {
        id -> Text,
        assignment_id -> Text,
        visibility -> Text,
        body -> Text,
        at_ms -> Nullable<Integer>,
        created_at -> Timestamp,
        held_reason -> Nullable<Text>,
        held_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    judge_conflicts (judge_id, entry_id) {
        competition_id -> Text,
        judge_id -> Text,
        entry_id -> Text,
        reason -> Text,
        declared_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    affiliations (user_id, kind, value_key) {
        user_id -> Text,
        kind -> Text,
        value_key -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    public_renditions (upload_id) {
        upload_id -> Text,
        object_key -> Text,
        size_bytes -> BigInt,
        gain_cdb -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    renditions (upload_id) {
        upload_id -> Text,
        object_key -> Text,
        size_bytes -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    results (competition_id) {
        competition_id -> Text,
        settings -> Text,
        standings -> Nullable<Text>,
        computed_at -> Nullable<Timestamp>,
        publish_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    voting_rounds (id) {
        id -> Text,
        competition_id -> Text,
        title -> Text,
        opens_at -> Timestamp,
        closes_at -> Timestamp,
        votes_per_voter -> Integer,
        votes_per_entry -> Integer,
        votes_per_day -> Nullable<Integer>,
        counts_visible -> Text,
        min_listen_secs -> Integer,
        allowlist -> Text,
        burst_per_minute -> Integer,
        new_account_minutes -> Integer,
        pattern_min_voters -> Integer,
        audited_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        audited_through -> BigInt,
        new_accounts -> Text,
        translations -> Text,
    }
}

diesel::table! {
    vote_patterns (round_id, voter_id) {
        round_id -> Text,
        voter_id -> Text,
        pattern -> Text,
    }
}

diesel::table! {
    voting_round_entries (round_id, entry_id) {
        round_id -> Text,
        entry_id -> Text,
        position -> Integer,
    }
}

diesel::table! {
    vote_tallies (round_id, entry_id, shard) {
        round_id -> Text,
        entry_id -> Text,
        counted -> BigInt,
        quarantined -> BigInt,
        invalidated -> BigInt,
        shard -> Integer,
    }
}

diesel::table! {
    vote_flags (vote_id) {
        vote_id -> BigInt,
        round_id -> Text,
        status -> Text,
        rule -> Nullable<Text>,
        reviewed -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    votes (id) {
        id -> BigInt,
        round_id -> Text,
        voter_id -> Text,
        entry_id -> Text,
        cast_at -> Timestamp,
        day -> Text,
        slot -> Integer,
        entry_slot -> Integer,
        day_slot -> Integer,
        idempotency_key -> Text,
        pow_id -> Text,
        pow_cost -> Integer,
        network -> Text,
        ua_hash -> Text,
        account_age_secs -> BigInt,
        initial_status -> Text,
        initial_rule -> Nullable<Text>,
    }
}

diesel::table! {
    vote_reviews (id) {
        id -> BigInt,
        vote_id -> BigInt,
        round_id -> Text,
        action -> Text,
        rule -> Nullable<Text>,
        reason -> Text,
        actor_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(invitations -> competitions (competition_id));
diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(prompts -> competitions (competition_id));
diesel::joinable!(categories -> competitions (competition_id));
diesel::joinable!(entries -> competitions (competition_id));
diesel::joinable!(entries -> users (musician_id));
diesel::joinable!(uploads -> entries (entry_id));
diesel::joinable!(fingerprint_keys -> entries (entry_id));
diesel::joinable!(rounds -> competitions (competition_id));
diesel::joinable!(round_entries -> rounds (round_id));
diesel::joinable!(round_entries -> entries (entry_id));
diesel::joinable!(assignments -> rounds (round_id));
diesel::joinable!(assignments -> entries (entry_id));
diesel::joinable!(assignments -> users (judge_id));
diesel::joinable!(scores -> assignments (assignment_id));
diesel::joinable!(judge_comments -> assignments (assignment_id));
diesel::joinable!(voting_rounds -> competitions (competition_id));
diesel::joinable!(voting_round_entries -> voting_rounds (round_id));
diesel::joinable!(voting_round_entries -> entries (entry_id));

diesel::table! {
    song_comments (id) {
        id -> Text,
        entry_id -> Text,
        author_id -> Text,
        at_ms -> Integer,
        body -> Text,
        created_at -> Timestamp,
        reports -> Integer,
        hidden_at -> Nullable<Timestamp>,
        hidden_by -> Nullable<Text>,
        reviewed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    comment_reports (comment_id, reporter_id) {
        comment_id -> Text,
        reporter_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    comment_settings (entry_id) {
        entry_id -> Text,
        enabled -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(song_comments -> entries (entry_id));
diesel::joinable!(comment_reports -> song_comments (comment_id));

diesel::table! {
    albums (competition_id) {
        competition_id -> Text,
        title -> Text,
        artist -> Text,
        year -> Integer,
        description -> Text,
        cover_key -> Nullable<Text>,
        terms -> Text,
        terms_version -> Integer,
        target_lufs -> Double,
        public_download -> Bool,
        published_at -> Nullable<Timestamp>,
        release_state -> Text,
        release_of -> Nullable<Text>,
        release_key -> Nullable<Text>,
        release_size -> Nullable<BigInt>,
        release_error -> Nullable<Text>,
        downloads -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    album_tracks (competition_id, entry_id) {
        competition_id -> Text,
        entry_id -> Text,
        position -> Integer,
        artist -> Text,
        composers -> Text,
        producer -> Text,
        lyrics -> Text,
        release -> Nullable<Text>,
    }
}

diesel::table! {
    album_consents (competition_id, entry_id) {
        competition_id -> Text,
        entry_id -> Text,
        musician_terms -> Nullable<Integer>,
        musician_agreed_at -> Nullable<Timestamp>,
        guardian_terms -> Nullable<Integer>,
        guardian_agreed_at -> Nullable<Timestamp>,
        guardian_name -> Nullable<Text>,
        guardian_email -> Nullable<Text>,
        guardian_token_hash -> Nullable<Text>,
    }
}

diesel::joinable!(albums -> competitions (competition_id));
diesel::joinable!(album_tracks -> albums (competition_id));
diesel::joinable!(album_tracks -> entries (entry_id));
diesel::joinable!(album_consents -> albums (competition_id));

diesel::table! {
    shows (round_id) {
        round_id -> Text,
        reveal_step -> Integer,
        standings -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(shows -> voting_rounds (round_id));

diesel::table! {
    posters (id) {
        id -> Text,
        competition_id -> Text,
        kind -> Text,
        target_id -> Text,
        lang -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    poster_scans (poster_id, day) {
        poster_id -> Text,
        day -> Text,
        scans -> BigInt,
    }
}

diesel::joinable!(poster_scans -> posters (poster_id));

diesel::table! {
    remix_settings (competition_id) {
        competition_id -> Text,
        sources_required -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    stem_packs (id) {
        id -> Text,
        competition_id -> Text,
        prompt_id -> Nullable<Text>,
        source_entry_id -> Nullable<Text>,
        title -> Text,
        credit -> Text,
        tempo_bpm -> Nullable<Double>,
        musical_key -> Nullable<Text>,
        licence_name -> Text,
        licence_text -> Text,
        licence_version -> Integer,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        translations -> Text,
    }
}

diesel::table! {
    stem_files (id) {
        id -> Text,
        pack_id -> Text,
        kind -> Text,
        name -> Text,
        file_name -> Text,
        object_key -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        status -> Text,
        report -> Nullable<Text>,
        analysis_error -> Nullable<Text>,
        downloads -> BigInt,
        created_at -> Timestamp,
        analysed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audio_landmarks (owner_id) {
        owner_id -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    licence_acceptances (subject_id, user_id, licence) {
        subject_id -> Text,
        user_id -> Text,
        licence -> Text,
        accepted_at -> Timestamp,
    }
}

diesel::table! {
    entry_sources (entry_id) {
        entry_id -> Text,
        pack_id -> Nullable<Text>,
        source_entry_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    remix_permissions (entry_id) {
        entry_id -> Text,
        allowed -> Bool,
        licence -> Text,
        downloads -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    stem_checks (entry_id) {
        entry_id -> Text,
        result -> Text,
        checked_at -> Timestamp,
    }
}

diesel::table! {
    server_processes (id) {
        id -> Text,
        kind -> Text,
        host -> Text,
        pid -> Integer,
        version -> Text,
        started_at -> Timestamp,
        seen_at -> Timestamp,
    }
}

diesel::joinable!(stem_files -> stem_packs (pack_id));

diesel::allow_tables_to_appear_in_same_query!(
    fingerprint_keys,
    server_processes,
    remix_settings,
    stem_packs,
    stem_files,
    audio_landmarks,
    licence_acceptances,
    entry_sources,
    remix_permissions,
    stem_checks,
    posters,
    poster_scans,
    shows,
    albums,
    album_tracks,
    album_consents,
    song_comments,
    comment_reports,
    comment_settings,
    vote_patterns,
    users,
    competitions,
    user_roles,
    invitations,
    account_tokens,
    jobs,
    prompts,
    categories,
    entries,
    uploads,
    rounds,
    round_entries,
    assignments,
    scores,
    judge_comments,
    judge_conflicts,
    affiliations,
    public_renditions,
    renditions,
    results,
    voting_rounds,
    voting_round_entries,
    vote_tallies,
    vote_flags,
    votes,
    vote_reviews
);
