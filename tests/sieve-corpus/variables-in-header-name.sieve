require ["variables", "fileinto"];
set "h" "x-priority";
if header :is "${h}" "2" { fileinto "Prio"; }
set "name" "Box";
fileinto "${name}${name}";
