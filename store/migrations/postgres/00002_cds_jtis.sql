-- The CDS Hooks jti replay set, shared by every replica: a row is a token id an EHR has
-- used, kept until the token expires. Inserting one that is there and live is a replay.

-- +goose Up
CREATE TABLE cds_jtis (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX cds_jtis_expires ON cds_jtis (expires_us);

-- +goose Down
DROP TABLE cds_jtis;
