-- Rate budgets shared by replicas (issue 16): each replica's demand per platform budget and the share of it
-- it grants, refreshed every half second; a row older than the TTL belongs to a replica that died.
CREATE TABLE budget_shares (
    budget TEXT NOT NULL,
    replica TEXT NOT NULL,
    demand DOUBLE PRECISION NOT NULL,
    share DOUBLE PRECISION NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (budget, replica)
);
