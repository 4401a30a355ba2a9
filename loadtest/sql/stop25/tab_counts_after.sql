SELECT applications.state, count(*) AS count_1 FROM applications WHERE applications.state IN ('screened', 'in_review', 'rejected', 'withdrawn', 'closed') GROUP BY applications.state;
