require ["duplicate", "fileinto"];
# the second test sees the same message-id as the first: RFC 7352 3
# says the id is only recorded when delivery succeeds, so not a duplicate
if duplicate { fileinto "Dup"; }
if duplicate :header "message-id" { fileinto "Dup2"; }
