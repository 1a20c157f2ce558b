require ["fileinto", "subaddress"];
if address :user "to" "me" { fileinto "User"; }
if address :detail "to" "lists" { fileinto "Detail"; }
if address :detail "from" "promo" { fileinto "Promo"; }
