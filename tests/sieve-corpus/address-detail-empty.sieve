require ["fileinto", "subaddress"];
if address :is :detail "to" "" { fileinto "EmptyDetail"; }
if address :matches :detail "to" "*" { fileinto "AnyDetail"; }
