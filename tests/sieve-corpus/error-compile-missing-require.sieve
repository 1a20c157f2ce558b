if true {
  fileinto "X";
}
