-- purpose: the operational outreach tables (lists, runs, holdouts, contacts, opt-outs, audit log)
-- grain:   one statement per table; created if missing, never dropped or rewritten here
-- point in time: rows are appended as events happen; nothing is recomputed from raw.*
create schema if not exists outreach;

create table if not exists outreach.list_runs (
    list_id varchar primary key,
    programme varchar not null,
    week varchar not null,
    revision integer not null,
    week_start date not null,
    as_of_date date not null,
    extract_date date not null,
    model_uri varchar not null,
    extract_hash varchar,
    generated_at timestamp not null,
    generated_by varchar not null,
    status varchar not null,
    reason varchar,
    counts json not null
);

create table if not exists outreach.lists (
    list_id varchar not null,
    programme varchar not null,
    week varchar not null,
    rank integer not null,
    citizen_id varchar not null,
    area varchar not null,
    area_name varchar not null,
    stop varchar not null,
    preferred_language varchar,
    risk_score double not null,
    risk_rank integer not null,
    risk_band varchar not null,
    reasons varchar not null,
    n_reasons integer not null,
    last_contact_date date,
    last_contact_outcome varchar,
    primary key (list_id, citizen_id)
);

create table if not exists outreach.holdouts (
    list_id varchar not null,
    programme varchar not null,
    week varchar not null,
    as_of_date date not null,
    citizen_id varchar not null,
    area varchar not null,
    risk_rank integer not null,
    walk_position integer not null,
    primary key (list_id, citizen_id)
);

create table if not exists outreach.contacts (
    list_id varchar not null,
    programme varchar not null,
    week varchar not null,
    citizen_id varchar not null,
    outcome varchar not null,
    outcome_date date not null,
    recorded_by varchar not null,
    opt_out boolean not null,
    note varchar,
    recorded_at timestamp not null,
    source varchar not null
);

create table if not exists outreach.opt_outs (
    citizen_id varchar primary key,
    opted_out_date date not null,
    list_id varchar,
    recorded_by varchar not null,
    recorded_at timestamp not null
);

create table if not exists outreach.audit_log (
    event varchar not null,
    actor varchar not null,
    "at" timestamp not null,
    programme varchar,
    week varchar,
    list_id varchar,
    model_uri varchar,
    extract_hash varchar,
    counts json
);
