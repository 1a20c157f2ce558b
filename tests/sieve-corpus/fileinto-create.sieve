require ["fileinto", "mailbox"];
fileinto :create "Lists/New";
