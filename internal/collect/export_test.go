package collect

// collectQueryForPlan exposes the query to the plan test.
var QueryForPlan = mainQuery
