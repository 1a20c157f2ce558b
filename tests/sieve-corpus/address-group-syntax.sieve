require "fileinto";
if address :is :all "cc" "b@example.com" { fileinto "GroupMember"; }
if address :is :all "cc" "me@example.com" { fileinto "AfterGroup"; }
if address :matches :all "to" "*" { fileinto "UndisclosedMatches"; }
